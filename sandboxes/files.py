"""Files that are never seen half-written, and JSON Lines read back.

`atomic_path`/`write_text`/`write_json` write through a temporary file beside the target and
one rename (a crash leaves the old file or the new one, never a torn one: what makes run
directories resumable). `append_line`/`read_jsonl` keep append-only logs whose last line a kill
may have torn; `json_lines` reads a JSONL file someone gave us, naming a bad line as `file:line`.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: Path, suffix: str = "", mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside `path` to write to (by any writer: savefig, safetensors, ...).

    When the block ends without error it replaces `path` in one rename, with `mode` (default:
    the mode of the file it replaces, else what a plain `open` would give); otherwise it is
    removed. `suffix` keeps writers that pick a format by extension happy."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _mode_for(path) if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_text(path: Path, text: str | bytes, *, mode: int | None = None, durable: bool = False) -> None:
    """Write text (UTF-8) or bytes atomically; `durable` also flushes it to disk before the rename."""
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as fh:
        fh.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path: Path, obj: Any) -> None:
    """Write JSON (indented, values JSON does not know as strings) atomically."""
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


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
    """The records of a log we append to (`append_line`): complete, valid lines only; a torn last
    line (killed mid-write) is skipped. For JSONL given to us, `json_lines` names bad lines."""
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


class JsonLinesError(ValueError):
    """A JSONL file cannot be read; the message names the file (and line) and the fix."""


def json_lines(path: Path, text: str | None = None, *, objects: bool = False,
               error: type[Exception] = JsonLinesError) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a JSONL file someone gave us.

    A line that is not JSON (or, with `objects`, not a JSON object) or a file that cannot be read
    raises `error` (the caller's own error type) naming `file:line` and the fix, never a traceback.
    `text`: the file's content, when the caller has read it already."""
    path = Path(path)
    if text is None:
        if path.is_dir():
            raise error(f"{path} is a folder, not a JSONL file: pass the file itself")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{path} is not UTF-8 text ({exc.reason}); pass a JSONL file") from None
        except OSError as exc:
            raise error(f"cannot read {path} ({exc.strerror}); pass a readable JSONL file") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{n}: not valid JSON ({exc.msg}); fix or remove that line") from None
        if objects and not isinstance(value, dict):
            raise error(f"{path}:{n}: expected one JSON object per line")
        yield n, value
