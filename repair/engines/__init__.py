"""Candidate generators (the `Engine` protocol in repair.core)."""
from repair.engines.template import TemplateEngine

__all__ = ["TemplateEngine"]
