"""Bug datasets, the benchmark runner and reports; the measurement scripts are in `measure/`."""
