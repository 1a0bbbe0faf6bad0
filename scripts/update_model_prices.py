"""Refresh repair/models/model_prices.json from an installed litellm (pip install litellm).

Reads the cost map litellm ships inside its package (no network), keeps chat/completion/responses
models with both token prices, and writes {name: [USD per 1M input, USD per 1M output]}.

    python3 scripts/update_model_prices.py
"""
from __future__ import annotations

import json
from pathlib import Path

from patchwarden.repair.models.prices import litellm_map_path, trim_litellm

TARGET = Path(__file__).resolve().parents[1] / "repair" / "models" / "model_prices.json"


def main() -> None:
    src = litellm_map_path()
    if src is None:
        raise SystemExit("litellm is not installed: pip install litellm, then rerun")
    import importlib.metadata as md

    prices = trim_litellm(json.loads(src.read_text()))
    doc = {"_source": f"litellm {md.version('litellm')}, litellm/{src.name} (MIT licence, Copyright (c) 2023 Berri AI); "
                      "trimmed to chat/completion/responses models: name -> [USD per 1M input tokens, USD per 1M "
                      "output tokens]. Regenerate with scripts/update_model_prices.py",
           "prices": prices}
    TARGET.write_text(json.dumps(doc, separators=(",", ":")).replace('],"', '],\n"') + "\n")
    print(f"wrote {len(prices)} prices to {TARGET}")


if __name__ == "__main__":
    main()
