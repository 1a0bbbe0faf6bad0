"""TRL's conventions for `train grpo`: TRL-style YAML configs and GRPOConfig fields as flags.

A config file is what `trl grpo --config FILE` reads: `model_name_or_path`, `dataset_name`,
`output_dir`, an optional `env` mapping (set as environment variables, as TrlParser does) and any
GRPOConfig field. Flags after the known options are GRPOConfig fields parsed the way TRL parses
them (transformers' HfArgumentParser over GRPOConfig: `--beta 0.1`, `--bf16 true`,
`--lr_scheduler_type constant`, underscores or dashes). Unknown keys are errors, with the nearest
field named, instead of being dropped or failing after the model has loaded.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import os

PATH_KEYS = {"model_name_or_path": "model", "dataset_name": "data", "output_dir": "out"}


class TrlArgsError(ValueError):
    """A config key or flag that is not a GRPOConfig field, or a value it does not accept."""


def grpo_fields() -> set[str]:
    from trl import GRPOConfig

    return {f.name for f in dataclasses.fields(GRPOConfig) if f.init}


def _nearest(name: str, fields: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(fields | set(PATH_KEYS)), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def split_config(data: dict, source: str) -> tuple[dict, dict]:
    """A TRL-style mapping -> ({model, data, out} found in it, GRPOConfig settings). Sets `env`."""
    data = dict(data)
    env = data.pop("env", None) or {}
    if not isinstance(env, dict):
        raise TrlArgsError(f"{source}: `env` must be a mapping of environment variables to values")
    for key, value in env.items():
        os.environ[str(key)] = str(value)
    paths = {PATH_KEYS[k]: str(data.pop(k)) for k in list(data) if k in PATH_KEYS and data[k] is not None}
    fields = grpo_fields()
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise TrlArgsError(f"{source}: {', '.join(repr(k) + _nearest(k, fields) for k in unknown)} "
                           f"{'is not a GRPOConfig field' if len(unknown) == 1 else 'are not GRPOConfig fields'}; "
                           "use model_name_or_path, dataset_name, output_dir, env or fields of trl.GRPOConfig")
    return paths, data


def parse_grpo_flags(args: list[str]) -> dict:
    """`--field value` flags -> {field: value} for the fields given (typed as GRPOConfig declares them)."""
    if not args:
        return {}
    from transformers import HfArgumentParser
    from trl import GRPOConfig

    parser = HfArgumentParser(GRPOConfig)

    def error(message: str):  # argparse would print its whole usage (hundreds of fields) and exit
        raise TrlArgsError(f"GRPOConfig flag: {message}")

    parser.error = error
    for action in parser._actions:  # only what the user gave comes back, not GRPOConfig's defaults
        action.default = argparse.SUPPRESS
        action.required = False
    given, rest = parser.parse_known_args(args)
    if rest:
        fields = grpo_fields()
        names = [a for a in rest if a.startswith("-")] or rest
        raise TrlArgsError(", ".join(f"{a}{_nearest(a.lstrip('-').replace('-', '_'), fields)}" for a in names)
                           + ": not an option of `train grpo` nor a GRPOConfig field; see `patchwarden train grpo --help`")
    return vars(given)
