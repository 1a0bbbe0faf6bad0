"""Candidate generators: template (no model), srepair (two models), policy."""
