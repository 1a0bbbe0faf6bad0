"""JSON Schemas of every command's `--json` object (documented in docs/json.md).

Each entry: `patchwarden.<command path>` -> {"version", "schema"}; the object a command prints
carries `"schema": "patchwarden.<command path>/<version>"`. The schemas name the fields scripts
may rely on (required, typed); objects may carry more. A field is renamed or removed only with
a new version. `python3 -m patchwarden.cli.schemas DIR` writes them as JSON Schema files.
"""
from __future__ import annotations

NUM = {"type": "number"}
INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
STR_OR_NULL = {"type": ["string", "null"]}
LIST_STR = {"type": "array", "items": STR}
OBJ = {"type": "object"}


def obj(required: dict, optional: dict | None = None) -> dict:
    """An object whose `required` fields must be present with these types (more fields allowed)."""
    props = {"schema": {"type": "string", "pattern": r"^patchwarden\.[a-z0-9.\-]+/[0-9]+$"}, **required, **(optional or {})}
    return {"type": "object", "required": ["schema", *required], "properties": props}


DECISION = obj({"bounce": BOOL, "confidence": NUM, "label": STR, "explanation": STR, "features": OBJ, "trace": OBJ})

SCHEMAS: dict[str, dict] = {
    "patchwarden.error": {"version": 1, "schema": obj(
        {"command": STR, "error": STR, "exit_code": INT, "meaning": STR})},
    "patchwarden.repair": {"version": 1, "schema": obj({
        "status": {"enum": ["plausible", "none", "nothing-to-repair", "abstained", "error"]},
        "run_dir": STR, "patch": STR, "candidate_id": STR_OR_NULL, "plausible_ids": LIST_STR,
        "candidates_generated": INT, "candidates_validated": INT, "trigger_tests": LIST_STR,
        "top_functions": LIST_STR, "wall_time": NUM, "validate_time": NUM, "calls": INT, "tokens": INT,
        "cost": NUM, "message": STR, "notes": LIST_STR, "bounce": {"type": ["object", "null"]}})},
    "patchwarden.localize": {"version": 1, "schema": obj({
        "failing_tests": LIST_STR,
        "functions": {"type": "array", "items": {"type": "object", "required": ["rank", "function", "score", "lines", "evidence"],
                                                 "properties": {"rank": INT, "function": STR, "score": NUM,
                                                                "lines": {"type": "array", "items": INT}, "evidence": LIST_STR}}}})},
    "patchwarden.sandbox.run": {"version": 1, "schema": obj({
        "backend": {"enum": ["local", "docker"]}, "command": LIST_STR, "returncode": INT, "command_exit_code": INT,
        "stdout": STR, "stderr": STR, "wall_time": NUM, "timed_out": BOOL, "stdout_truncated": BOOL,
        "stderr_truncated": BOOL}, {"duration": NUM})},  # duration: the old name of wall_time, kept
    "patchwarden.sandbox.doctor": {"version": 1, "schema": obj({
        "checks": {"type": "array", "items": {"type": "object", "required": ["backend", "ok", "detail"]}},
        "auto": STR_OR_NULL})},
    "patchwarden.sandbox.prune": {"version": 1, "schema": obj({"removed": LIST_STR})},
    "patchwarden.bounce.input": {"version": 1, "schema": DECISION},
    "patchwarden.bounce.output": {"version": 1, "schema": DECISION},
    "patchwarden.bouncerbench.score": {"version": 1, "schema": obj({"details": OBJ})},
    "patchwarden.bouncerbench.export": {"version": 1, "schema": obj({"config": STR, "files": OBJ})},
    "patchwarden.train.dataset": {"version": 1, "schema": obj({
        "format": STR, "sources": LIST_STR, "folds": INT, "fold": INT, "seed": INT, "train_rows": INT,
        "test_rows": INT, "train_problems": INT, "test_problems": INT, "by_source": OBJ})},
    "patchwarden.train.grpo": {"version": 1, "schema": obj({
        "out": STR, "steps": INT, "resumed_from": STR_OR_NULL, "last_checkpoint": STR, "metrics": STR,
        "plot": STR, "notes": LIST_STR, "last_rewards": {"type": ["object", "null"]}})},
    "patchwarden.train.eval": {"version": 1, "schema": obj({"bugs": INT}, {"model": STR, "samples": INT})},
    "patchwarden.neuron.mint": {"version": 1, "schema": obj({
        "method": STR, "mode": STR, "base_model": STR, "base_hash": STR, "config": OBJ,
        "cases": {"type": "array"}, "edits": {"type": "array"}, "summary": {"type": "object", "required": [
            "cases", "repaired", "skipped", "already_correct", "mean_neurons", "seconds_per_repair"]}})},
    "patchwarden.neuron.irepair": {"version": 1, "schema": obj({
        "method": STR, "mode": STR, "base_model": STR, "base_hash": STR, "config": OBJ, "result": OBJ,
        "edits": {"type": "array"}, "summary": {"type": "object", "required": [
            "parameters_changed", "seconds", "error_rate_before", "error_rate_after"]}})},
    "patchwarden.neuron.eval": {"version": 1, "schema": obj({
        "method": STR_OR_NULL, "mode": STR_OR_NULL, "base_model": STR_OR_NULL, "edits": INT, "metrics": OBJ,
        "per_edit": {"type": "array"}})},
    "patchwarden.neuron.export": {"version": 1, "schema": obj({
        "out": STR, "base_model": STR, "method": STR, "merged": BOOL, "adapter": STR_OR_NULL,
        "parameters_changed": INT, "files": LIST_STR})},
    "patchwarden.bench.list": {"version": 1, "schema": obj({
        "datasets": {"type": "array", "items": {"type": "object", "required": ["name", "help"]}}})},
    "patchwarden.bench.run": {"version": 1, "schema": obj({
        "total": INT, "skipped": INT, "ran": INT, "plausible": INT, "fixed_equal_reference": INT, "failed": INT,
        "errors": INT, "wall_time": NUM, "problems": LIST_STR, "out": STR}, {"fixed": INT})},  # fixed: the old name, kept
    "patchwarden.bench.report": {"version": 1, "schema": obj({
        "markdown": STR, "html": STR, "plots": LIST_STR, "predictions": LIST_STR, "summary": {"type": "array"},
        "by_type": OBJ, "problems": LIST_STR}, {"bugs": {"type": "array"}})},
    "patchwarden.show": {"version": 1, "schema": obj({
        "run_dir": STR, "config": {"type": ["object", "null"]}, "result": {"type": ["object", "null"]},
        "tests": {"type": "array"}, "localization": {"type": "array"}, "candidates": {"type": "array"},
        "patch": STR, "bounce": OBJ, "model_calls": {"type": "array"}, "other": OBJ}, {"html": STR})},
}

def schema_for(schema_id: str) -> dict:
    """The JSON Schema of `patchwarden.X/N`; KeyError for an unknown name or version."""
    name, _, version = schema_id.partition("/")
    entry = SCHEMAS[name]
    if str(entry["version"]) != version:
        raise KeyError(f"{schema_id}: this build writes {name}/{entry['version']}")
    return entry["schema"]


def validate(obj: dict) -> None:
    """Check a --json object against the schema it names (jsonschema when installed, else a small checker)."""
    schema = schema_for(obj["schema"])
    try:
        import jsonschema
    except ImportError:
        _check(obj, schema, "$")
        return
    jsonschema.validate(obj, schema)


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
          "integer": int, "number": (int, float)}


def _check(value, schema: dict, where: str) -> None:
    """Enough of JSON Schema for the schemas above: type, enum, required, properties, items, pattern."""
    import re

    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        ok = any(isinstance(value, _TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool)) for t in types)
        if not ok:
            raise ValueError(f"{where}: {value!r} is not {' or '.join(types)}")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where}: {value!r} not one of {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        raise ValueError(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise ValueError(f"{where}: missing {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(value[key], sub, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]")


if __name__ == "__main__":  # write docs/schemas/*.json
    import json
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    target.mkdir(parents=True, exist_ok=True)
    for name, entry in SCHEMAS.items():
        doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{name}/{entry['version']}", **entry["schema"]}
        (target / f"{name}.v{entry['version']}.json").write_text(json.dumps(doc, indent=2) + "\n")
