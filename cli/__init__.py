"""The `patchwarden` command line (Typer). Thin: parse flags, call library code, render."""
