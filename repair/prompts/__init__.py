"""Prompt templates for model engines."""
