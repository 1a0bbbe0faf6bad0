"""Candidate generators: one module per engine (`ENGINE`, found by registry.py), the `Engine`
protocol in base.py, and the template engine's libcst helpers (cst_tools, mutations, fix_patterns)."""
