"""The run directory: one artifact per stage, written atomically, so runs resume and can be inspected."""
from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically: a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=2, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def write_text(path: Path, text: str | bytes) -> None:
    """Write text (UTF-8) or bytes atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text if isinstance(text, bytes) else text.encode("utf-8"))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


_APPEND_LOCK = threading.Lock()  # one writer per file is a process of ours; its threads take turns


def cut_torn_tail(path: Path) -> int | None:
    """Make a JSONL file end with a newline before anything is appended to it.

    A writer killed mid-line leaves an unterminated last line; the next append would glue onto
    it and both records would be lost (or misread). An unterminated line that is not valid JSON is
    cut off; a whole one only gets its newline. Returns the byte offset cut at, if any."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with open(path, "rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return None
        start, chunk = size, 1 << 16
        while start > 0:  # walk back to the start of the last line
            lo = max(0, start - chunk)
            fh.seek(lo)
            nl = fh.read(start - lo).rfind(b"\n")
            if nl != -1:
                start = lo + nl + 1
                break
            start = lo
        fh.seek(start)
        try:
            json.loads(fh.read())
            cut = None
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
        except ValueError:
            cut = start
            fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())
    return cut


def append_line(path: Path, line: str) -> None:
    """Append one complete line with a single write, flushed to disk (a kill loses at most this
    line). A torn tail left by a killed writer is cut first, so the line never glues onto it."""
    data = (line.rstrip("\n") + "\n").encode()
    with _APPEND_LOCK:
        cut_torn_tail(Path(path))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, data)
            if written != len(data):  # never seen on a local file; keep the line whole anyway
                os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)


def append_jsonl(path: Path, obj: Any, **dumps_options: Any) -> None:
    """Append `obj` as one JSON line (see `append_line`)."""
    append_line(path, json.dumps(obj, default=str, **dumps_options))


def read_jsonl(path: Path) -> Iterator[dict]:
    """Complete, valid lines only; a torn last line (killed mid-write) is skipped."""
    if not path.exists():
        return
    with path.open() as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
