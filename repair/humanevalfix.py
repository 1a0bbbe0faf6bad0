"""HumanEvalFix (Python) records as humanevalpack ships them: the one loader, for Repair-R1's
training rows and for the benchmarks.

The dataset ships in `data/` beside this module (MIT licence with it); a local JSONL/JSON file or
a Hugging Face id (`bigcode/humanevalpack`, config "python", loaded with `datasets`) can be given.
"""
from __future__ import annotations

import json
from pathlib import Path

from patchwarden.sandboxes.files import json_lines

BUNDLED = Path(__file__).with_name("data") / "humanevalfix-python.jsonl"
HF_ID = "bigcode/humanevalpack"


class HumanEvalFixError(ValueError):
    """HumanEvalFix cannot be loaded from what was given; the message names the fix."""


def load_rows(path: str | Path | None = None) -> list[dict]:
    """HumanEvalFix records: the bundled copy (None), a local JSONL/JSON file, or a HF dataset id."""
    if path is None:
        path = BUNDLED
    local = Path(path).expanduser()
    if local.is_dir():
        raise HumanEvalFixError(f"{path} is a folder, not a JSONL file: pass a HumanEvalFix JSONL file or a HF id such as {HF_ID}")
    if local.exists():
        if local.suffix == ".json":
            try:
                data = json.loads(local.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise HumanEvalFixError(f"cannot read {local} as JSON ({exc}); pass a HumanEvalFix JSONL/JSON file") from None
            return data if isinstance(data, list) else list(data.values())
        return [row for _, row in json_lines(local, objects=True, error=HumanEvalFixError)]
    if "/" in str(path) and not str(path).startswith((".", "/", "~")):
        return _hub_rows(str(path))
    raise HumanEvalFixError(f"{path}: no such file; pass a HumanEvalFix JSONL file or a HF id such as {HF_ID}")


def _hub_rows(dataset_id: str) -> list[dict]:
    try:
        import datasets
    except ImportError:
        raise HumanEvalFixError(f"loading {dataset_id} from the Hugging Face hub needs `datasets`: pip install 'patchwarden[ml]'") from None
    try:
        return [dict(r) for r in datasets.load_dataset(dataset_id, "python", split="test")]
    except Exception as exc:  # offline, unknown id: one clean line
        raise HumanEvalFixError(f"could not load {dataset_id!r} (not a local file, and the hub failed: {exc}); "
                                "pass a local JSONL file") from None
