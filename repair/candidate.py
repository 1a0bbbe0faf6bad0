"""A candidate patch: function replacements by byte span, with an id that ignores formatting."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


@dataclass
class FunctionEdit:
    """Replace one function (by its original byte span) with new source text."""

    path: str
    qualname: str
    start_byte: int
    end_byte: int
    new_source: str


@dataclass
class Candidate:
    engine: str
    edits: list[FunctionEdit]
    description: str
    prior: float = 1.0  # higher = try earlier
    meta: dict = field(default_factory=dict)
    id: str = ""

    def __post_init__(self):
        if not self.id:
            h = hashlib.sha1()
            for e in sorted(self.edits, key=lambda e: (e.path, e.start_byte)):
                h.update(f"{e.path}:{e.start_byte}:{e.end_byte}\0{normalize_source(e.new_source)}\0".encode())
            self.id = h.hexdigest()[:16]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Candidate":
        d = dict(d)
        d["edits"] = [FunctionEdit(**e) for e in d["edits"]]
        return cls(**d)


def normalize_source(src: str) -> str:
    """Normalize code for deduplication: drop comments, blank lines and trailing spaces."""
    lines = []
    for line in src.splitlines():
        stripped = line.rstrip()
        if stripped.lstrip().startswith("#") or not stripped:
            continue
        lines.append(stripped)
    return "\n".join(lines)
