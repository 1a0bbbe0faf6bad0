"""`patchwarden repair` and `patchwarden localize` (issue #3)."""
from cli.common import not_built


def repair():
    not_built("repair", "issue #3")


def localize():
    not_built("localize", "issue #3")
