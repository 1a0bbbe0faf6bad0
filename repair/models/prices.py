"""Model prices from a maintained registry: litellm's model cost map.

Order of lookup (first hit wins): the user's override (`--price-in/--price-out`, USD per 1M tokens),
the user's price table (PATCHWARDEN_PRICES=FILE, YAML `name-or-glob: {input, output}`), the cost
map of an installed `litellm` package (read from its files, never imported, never fetched), the
trimmed copy of that map shipped here (model_prices.json, MIT, see its `_source`), and finally
prices.yaml (globs for dated variants).  Names match exactly, then without a `provider/` prefix,
then as the last part of a registry name when every such entry agrees on the price.
"""
from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

VENDORED = Path(__file__).with_name("model_prices.json")
LITELLM_FILES = ("model_prices_and_context_window_backup.json", "model_prices_and_context_window.json")


def litellm_map_path() -> Path | None:
    """The cost map inside an installed litellm, found without importing it (slow, chatty)."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    for base in (spec.submodule_search_locations or []) if spec else []:
        for name in LITELLM_FILES:
            if (Path(base) / name).is_file():
                return Path(base) / name
    return None


def trim_litellm(raw: dict) -> dict[str, list[float]]:
    out = {}
    for name, v in raw.items():
        if not isinstance(v, dict) or name == "sample_spec" or v.get("mode") not in ("chat", "completion", "responses"):
            continue
        i, o = v.get("input_cost_per_token"), v.get("output_cost_per_token")
        if isinstance(i, (int, float)) and isinstance(o, (int, float)):
            out[name] = [round(i * 1e6, 6), round(o * 1e6, 6)]
    return dict(sorted(out.items()))


@lru_cache(maxsize=1)
def registry() -> tuple[str, dict[str, tuple[float, float]]]:
    """(where from, {name: (USD/1M in, USD/1M out)}): an installed litellm's map, else the shipped copy."""
    path = litellm_map_path()
    if path is not None:
        try:
            return f"litellm ({path})", {k: tuple(v) for k, v in trim_litellm(json.loads(path.read_text())).items()}
        except (OSError, ValueError):
            pass
    doc = json.loads(VENDORED.read_text())
    return f"shipped litellm cost map ({doc['_source'].split(',')[0]})", {k: tuple(v) for k, v in doc["prices"].items()}


def registry_price(model: str) -> tuple[float, float] | None:
    _, table = registry()
    if model in table:
        return table[model]
    bare = model.split("/", 1)[1] if "/" in model else None
    if bare and bare in table:
        return table[bare]
    tails = {table[k] for k in table if k.rsplit("/", 1)[-1] == model}
    return tails.pop() if len(tails) == 1 else None
