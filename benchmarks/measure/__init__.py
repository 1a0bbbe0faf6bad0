"""Measurement scripts: each prints a measured figure (`python3 -m patchwarden.benchmarks.measure.NAME --help`)."""
