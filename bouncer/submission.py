"""Running a bouncer over BouncerBench items into a submission file, and exporting it.

A submission is a JSON object keyed by instance_id: `{"input_bounce": bool, "trace": ...}`
(output: `output_bounce`; Lite: both). Runs are resumable: items already in the output
file are skipped, and the file is rewritten atomically every few items.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, Iterable

from patchwarden.sandboxes.files import write_json, write_text

from .data import Item, load_predictions, read_rows
from .decision import Decision


def read_existing(path: Path) -> dict:
    """A previous (partial) submission at `path`, or {}; a corrupt one is an error, never overwritten."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} exists but is not a submission ({exc}); move it away or pass --overwrite") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} exists but is not a submission object; move it away or pass --overwrite")
    return data


def _trace(decision: Decision, bouncer: str) -> dict:
    return {
        "bouncer": bouncer,
        "label": decision.label,
        "confidence": decision.confidence,
        "explanation": decision.explanation,
        **({"features": decision.features} if decision.features else {}),
        **({"raw": decision.trace} if decision.trace else {}),
    }


def run_bouncers(
    items: Iterable[Item],
    split: str,
    out: Path,
    input_bouncer=None,
    output_bouncer=None,
    *,
    resume: bool = True,
    save_every: int = 10,
    on_item: Callable[[str], None] | None = None,
) -> dict:
    """Judge every item not already in `out`; returns the full submission."""
    done = read_existing(out) if resume else {}
    pending = [it for it in items if it.instance_id not in done]
    for n, item in enumerate(pending, 1):
        entry: dict = {}
        traces: dict = {}
        if split in ("input", "lite"):
            d = input_bouncer.judge(item.problem_statement)
            entry["input_bounce"] = d.bounce
            traces["input"] = _trace(d, input_bouncer.name)
        if split in ("output", "lite"):
            d = output_bouncer.judge(item.problem_statement, item.patch or "")
            entry["output_bounce"] = d.bounce
            traces["output"] = _trace(d, output_bouncer.name)
        entry["trace"] = traces if split == "lite" else next(iter(traces.values()))
        done[item.instance_id] = entry
        if n % save_every == 0:
            write_json(out, done)
        if on_item:
            on_item(item.instance_id)
    write_json(out, done)
    return done


def slugify(name: str) -> str:
    """The leaderboard's slug of a submission name."""
    s = re.sub(r"[^\w\s-]", "", name.lower().strip())
    return re.sub(r"^-+|-+$", "", re.sub(r"[\s_-]+", "-", s))


def _yaml_scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def export_submission(out_dir: Path, name: str, site: str, oss: bool, entries: dict[str, Path], icon: str = "bouncerbench.svg") -> dict:
    """Write the leaderboard folder: data/<slug>_<split>.json per entry and config.yaml."""
    if not entries:
        raise ValueError("nothing to export: pass at least one of --input, --output, --lite")
    slug = slugify(name)
    if not slug:
        raise ValueError(f"name {name!r} has no letters or digits; pass a real --name")
    files = {}
    for split, path in entries.items():
        preds = load_predictions(path, split)  # validates the shape before anything is written
        if not any(preds.values()):
            raise ValueError(f"{path}: no predictions for the {split} split")
        data = {str(row["instance_id"]): {k: v for k, v in row.items() if k != "instance_id"} for row in read_rows(path)}
        filename = f"{slug}_{split}.json"
        write_json(out_dir / "data" / filename, data)
        files[split] = filename
    lines = [f"name: {_yaml_scalar(name)}", f"oss: {_yaml_scalar(oss)}", f"site: {_yaml_scalar(site)}", "entries:"]
    lines += [f"  {split}: {_yaml_scalar(files.get(split))}" for split in ("lite", "input", "output")]
    lines.append(f"icon: {_yaml_scalar(icon)}")
    config = out_dir / "config.yaml"
    write_text(config, "\n".join(lines) + "\n")
    return {"config": str(config), "files": {k: str(out_dir / "data" / v) for k, v in files.items()}}
