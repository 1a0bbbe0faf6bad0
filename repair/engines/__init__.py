"""Candidate generators (the `Engine` protocol in repair.core)."""
from patchwarden.repair.engines.template import TemplateEngine

__all__ = ["TemplateEngine"]
