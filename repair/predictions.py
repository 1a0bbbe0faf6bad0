"""SWE-bench prediction files: one row per instance (`instance_id`, `model_name_or_path`,
`model_patch`), rewritten keyed by instance id, so a re-run replaces its row instead of adding
a second one. An instance without a patch (none found, abstained) still gets its row, with an
empty `model_patch`: the harness counts that differently from a missing instance.

`.json` files hold a JSON list (as the harness accepts), anything else JSONL. Writers on the
same file are serialised with a lock on its folder, and the file is replaced atomically.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

from patchwarden.sandboxes.files import write_text


class PredictionsError(Exception):
    """The predictions file cannot be read or written; the message names the fix."""


def read_predictions(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists() or not path.read_text().strip():
        return []
    text = path.read_text()
    try:
        rows = json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise PredictionsError(f"{path} is not a readable predictions file ({exc.msg}, line {exc.lineno}); fix or move it, or pass another --predictions") from exc
    if isinstance(rows, dict):  # SWE-agent style {instance_id: row}
        rows = list(rows.values())
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "instance_id" in r for r in rows):
        raise PredictionsError(f"{path} holds something other than prediction rows with an instance_id; pass another --predictions")
    return rows


@contextmanager
def _locked(folder: Path):
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_predictions(path: Path, rows: list[dict]) -> None:
    """Replace `path` with `rows` (no duplicate ids: the last row of an id wins, in first-seen order)."""
    path = Path(path)
    by_id: dict[str, dict] = {}
    for row in rows:
        by_id[row["instance_id"]] = row
    rows = list(by_id.values())
    text = json.dumps(rows, indent=1) + "\n" if path.suffix == ".json" else "".join(json.dumps(r) + "\n" for r in rows)
    write_text(path, text, durable=True)


def write_prediction(path: Path, instance_id: str, model: str, patch: str) -> None:
    """Set the row of `instance_id` in the predictions file (added, or replaced in place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"instance_id": instance_id, "model_name_or_path": model, "model_patch": patch or ""}
    with _locked(path.parent):
        rows = read_predictions(path)
        write_predictions(path, rows + [row])


_HEADER = re.compile(r"^(diff --git a/)(\S+)( b/)(\S+)$|^(--- a/|\+\+\+ b/)(.+)$")


def patch_from_git_root(repo: Path, patch: str) -> str:
    """`patch` (paths relative to `repo`) with paths relative to the git root holding `repo`,
    so `git apply` at the root (as the SWE-bench harness does) finds the files. Unchanged when
    `repo` is the root itself or not in a git repository."""
    if not patch:
        return patch
    proc = subprocess.run(["git", "rev-parse", "--show-prefix"], cwd=repo, capture_output=True, text=True)
    prefix = proc.stdout.strip() if proc.returncode == 0 else ""
    if not prefix:
        return patch
    out = []
    for line in patch.splitlines(keepends=True):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        m = _HEADER.match(body)
        if m and m.group(1):
            body = f"{m.group(1)}{prefix}{m.group(2)}{m.group(3)}{prefix}{m.group(4)}"
        elif m:
            body = f"{m.group(5)}{prefix}{m.group(6)}"
        out.append(body + end)
    return "".join(out)
