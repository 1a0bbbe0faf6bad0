"""BouncerBench data: labels, items and predictions from Hugging Face or local files.

A source is a local CSV / JSON / JSONL / Parquet file or a Hugging Face dataset id
(split "test"). Labels need `instance_id` and `input_quality` (0-3) and/or
`output_quality` (fraction of tests passing); `input_bounce` (= quality >= 2) and
`output_bounce` (= quality < 1.0) are derived when a file does not carry them.
Every problem raises `BouncerDataError` with one line naming the file and the fix.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from patchwarden.sandboxes.files import json_lines

SPLITS = ("input", "output", "lite")
HF_IDS = {"input": "uw-swag/input-bouncer", "output": "uw-swag/output-bouncer"}
SIDES = {"input": ("input",), "output": ("output",), "lite": ("input", "output")}
FORMATS = (".csv", ".json", ".jsonl", ".parquet")
_HF_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class BouncerDataError(ValueError):
    """Unusable data; the message is one line with the fix."""


@dataclass
class Label:
    instance_id: str
    input_quality: float | None = None
    input_bounce: bool | None = None
    output_quality: float | None = None
    output_bounce: bool | None = None

    def bounce(self, side: str) -> bool | None:
        return self.input_bounce if side == "input" else self.output_bounce

    def quality(self, side: str) -> float | None:
        return self.input_quality if side == "input" else self.output_quality


# -- reading rows ---------------------------------------------------------------------
def read_rows(source: str | Path) -> list[dict[str, Any]]:
    """Rows of a local file (by extension) or of a Hugging Face dataset's test split."""
    path = Path(source)
    if path.exists():
        return _read_file(path)
    if isinstance(source, str) and _HF_ID.match(source) and not source.endswith(FORMATS):
        return _read_hf(source)
    raise BouncerDataError(f"{source}: no such file, and not a Hugging Face dataset id (owner/name); pass an existing path or an id")


def _read_file(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise BouncerDataError(f"{path}: unsupported format {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        elif suffix == ".jsonl":
            rows = [row for _, row in json_lines(path, error=BouncerDataError)]
        elif suffix == ".json":
            rows = _json_rows(path, json.loads(path.read_text(encoding="utf-8")))
        else:
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
    except BouncerDataError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error, ValueError) as exc:
        raise BouncerDataError(f"{path}: cannot read it as {suffix[1:].upper()} ({_short(exc)}); check the file") from exc
    except Exception as exc:  # pyarrow raises its own error types for broken Parquet
        raise BouncerDataError(f"{path}: cannot read it as {suffix[1:].upper()} ({_short(exc)}); check the file") from exc
    if not rows:
        raise BouncerDataError(f"{path}: no rows; pass a file with at least one item")
    for row in rows:
        if not isinstance(row, dict):
            raise BouncerDataError(f"{path}: every row must be an object with named fields, found {type(row).__name__}")
    return rows


def _json_rows(path: Path, data: Any) -> list:
    """A JSON file is a list of rows, or an object keyed by instance_id (the submission shape)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if data and all(isinstance(v, dict) for v in data.values()):
            return [{"instance_id": k, **v} for k, v in data.items()]
        if data and all(isinstance(v, list) for v in data.values()):  # column-oriented
            lengths = {len(v) for v in data.values()}
            if len(lengths) == 1:
                keys = list(data)
                return [dict(zip(keys, vals)) for vals in zip(*data.values())]
    raise BouncerDataError(f"{path}: expected a list of rows or an object keyed by instance_id")


def _read_hf(dataset_id: str) -> list[dict[str, Any]]:
    try:
        from datasets import load_dataset

        return list(load_dataset(dataset_id, split="test"))
    except Exception as exc:  # offline, unknown id, auth: all end the same way for the user
        raise BouncerDataError(
            f"cannot load Hugging Face dataset {dataset_id} ({_short(exc)}); check the id and your network, or pass a local file"
        ) from exc


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# -- values ---------------------------------------------------------------------------
def parse_bool(value: Any) -> bool | None:
    """True/False from bools, 0/1 and their usual spellings; None for empty; ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "y", "t", "1.0"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "n", "f", "0.0"):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)
    if number != number:  # NaN: pandas' empty cell
        return None
    return number


def _require(rows: list[dict], columns: Iterable[str], source: Any) -> None:
    present = set().union(*(r.keys() for r in rows))
    missing = [c for c in columns if c not in present]
    if missing:
        raise BouncerDataError(f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(sorted(present)) or 'none'}")


# -- labels ---------------------------------------------------------------------------
def default_source(split: str) -> str:
    return HF_IDS["output" if split == "lite" else split]


def load_labels(split: str, source: str | Path | None = None) -> dict[str, Label]:
    """Labels keyed by instance_id for `split`; Lite defaults to the output set joined with input quality."""
    if split not in SPLITS:
        raise BouncerDataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if source is None and split == "lite":
        labels = labels_from_rows(read_rows(HF_IDS["output"]), ("output",), HF_IDS["output"])
        inputs = labels_from_rows(read_rows(HF_IDS["input"]), ("input",), HF_IDS["input"])
        for iid, label in labels.items():
            if iid not in inputs:
                raise BouncerDataError(f"{iid} has no input label in {HF_IDS['input']}; pass a Lite labels file with --labels")
            label.input_quality, label.input_bounce = inputs[iid].input_quality, inputs[iid].input_bounce
        return labels
    source = source if source is not None else default_source(split)
    return labels_from_rows(read_rows(source), SIDES[split], source)


def labels_from_rows(rows: list[dict], sides: tuple[str, ...], source: Any) -> dict[str, Label]:
    _require(rows, ["instance_id"] + [f"{side}_quality" for side in sides], source)
    labels: dict[str, Label] = {}
    for row in rows:
        iid = str(row.get("instance_id") or "").strip()
        if not iid:
            raise BouncerDataError(f"{source}: a row has an empty instance_id; every row needs one")
        if iid in labels:
            raise BouncerDataError(f"{source}: instance_id {iid} appears twice; keep one row per item")
        label = Label(iid)
        for side in sides:
            try:
                quality = _number(row.get(f"{side}_quality"))
                given = parse_bool(row.get(f"{side}_bounce"))
            except (TypeError, ValueError) as exc:
                raise BouncerDataError(f"{source}: {iid}: bad {side} label ({exc})") from exc
            if quality is None:
                raise BouncerDataError(f"{source}: {iid}: empty {side}_quality; every item needs one")
            low, high = (0.0, 3.0) if side == "input" else (0.0, 1.0)
            if not low <= quality <= high:
                raise BouncerDataError(f"{source}: {iid}: {side}_quality {quality} outside [{low:g}, {high:g}]")
            derived = quality >= 2 if side == "input" else quality < 1.0
            setattr(label, f"{side}_quality", quality)
            setattr(label, f"{side}_bounce", derived if given is None else given)
        labels[iid] = label
    return labels


# -- items to judge ---------------------------------------------------------------------
@dataclass
class Item:
    instance_id: str
    problem_statement: str
    patch: str | None = None


def load_items(split: str, source: str | Path | None = None) -> list[Item]:
    """Items a bouncer judges: the issue text, and the patch for output / Lite."""
    source = source if source is not None else default_source(split)
    rows = read_rows(source)
    needed = ["instance_id", "problem_statement"] + (["patch"] if split != "input" else [])
    _require(rows, needed, source)
    items, seen = [], set()
    for row in rows:
        iid = str(row.get("instance_id") or "").strip()
        if not iid or iid in seen:
            raise BouncerDataError(f"{source}: empty or repeated instance_id {iid!r}; keep one row per item")
        seen.add(iid)
        items.append(Item(iid, str(row.get("problem_statement") or ""), None if split == "input" else str(row.get("patch") or "")))
    return items


# -- predictions ------------------------------------------------------------------------
def load_predictions(path: str | Path, split: str, labels: dict[str, Label] | None = None) -> dict[str, dict[str, bool]]:
    """Submission file -> {side: {instance_id: bounce}}; ids unknown to `labels` are an error."""
    path = Path(path)
    if not path.is_file():
        raise BouncerDataError(f"{path}: predictions file not found; pass the file `bouncerbench run --out` wrote")
    if path.suffix.lower() not in (".json", ".jsonl"):
        raise BouncerDataError(f"{path}: predictions must be JSON (keyed by instance_id) or JSONL rows")
    rows = _read_file(path)
    _require(rows, ["instance_id"], path)
    sides = SIDES[split]
    keys = [f"{side}_bounce" for side in sides]
    present = set().union(*(r.keys() for r in rows))
    if not any(k in present for k in keys):
        raise BouncerDataError(f"{path}: no {' or '.join(keys)} field; this is not a {split} submission")
    preds: dict[str, dict[str, bool]] = {side: {} for side in sides}
    for row in rows:
        iid = str(row["instance_id"])
        if labels is not None and iid not in labels:
            raise BouncerDataError(f"{path}: unknown instance_id {iid} (not in the {split} labels); remove it or pass the right --labels")
        for side, key in zip(sides, keys):
            try:
                value = parse_bool(row.get(key))
            except ValueError as exc:
                raise BouncerDataError(f"{path}: {iid}: {key} {exc}; use true or false") from exc
            if value is not None:
                preds[side][iid] = value
    return preds
