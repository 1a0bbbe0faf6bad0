"""Bug datasets, the benchmark runner and reports; benchmark scripts beside them."""
