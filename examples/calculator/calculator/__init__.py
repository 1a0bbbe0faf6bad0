"""A tiny statistics and arithmetic package with one injected bug, for `patchwarden repair`."""
from .stats import clamp, mean, median
from .arith import safe_div, percent

__all__ = ["clamp", "mean", "median", "safe_div", "percent"]
