"""Hard caps on model use (calls, tokens, cost) and the running totals.

One `Budget` is shared by every model of a run, so the caps hold for the run as a whole.
Caps are checked *before* a call: a call that could exceed a cap is shrunk (fewer new tokens)
or refused with `BudgetExceeded`; `max_calls` is never exceeded.  Prices come from
repair.models.prices (user override, user table, litellm's cost map); a `max_cost` cap on a model
with no known price refuses to start (`UnknownPrice`) instead of counting it as free.
"""
from __future__ import annotations

import fnmatch
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")
PRICES_ENV = "PATCHWARDEN_PRICES"  # path to a user price table (same format), read instead
MIN_NEW_TOKENS = 16  # a call that cannot afford this many new tokens is not worth making


class ModelError(Exception):
    """A model could not be loaded or called. The message names the fix."""


class BudgetExceeded(ModelError):
    """A cap (max_calls, max_tokens, max_cost) would be exceeded: stop generating."""


class UnknownPrice(ModelError):
    """`max_cost` is set but the model's price is unknown: the cap could not hold."""


@dataclass
class Caps:
    max_calls: int | None = None
    max_tokens: int | None = None  # prompt + completion tokens over the whole run
    max_cost: float | None = None  # USD
    price_in: float | None = None   # user's price override, USD per 1M prompt tokens (every remote model of the run)
    price_out: float | None = None  # USD per 1M completion tokens


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tokens"] = self.tokens
        return d


@dataclass
class Price:
    input: float  # USD per million prompt tokens
    output: float  # USD per million completion tokens


def load_prices(path: str | Path | None = None) -> dict[str, Price]:
    """Read a price table: `model-name-or-glob: {input: USD/1M, output: USD/1M}` (default: the user's
    PATCHWARDEN_PRICES file, else the empty table)."""
    path = path or os.environ.get(PRICES_ENV)
    if not path:
        return {}
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ModelError(f"cannot read the price table {path}: {e}; fix it or unset {PRICES_ENV}") from e
    prices = {}
    for name, p in raw.items():
        try:
            prices[str(name)] = Price(float(p["input"]), float(p["output"]))
        except (TypeError, KeyError, ValueError) as e:
            raise ModelError(f"price table {path}: entry {name!r} needs numeric `input` and `output` (USD per 1M tokens)") from e
    return prices


def find_price(prices: dict[str, Price], model: str) -> Price | None:
    """Exact name first, then the longest matching glob (e.g. `gpt-4o-mini*`)."""
    if model in prices:
        return prices[model]
    matches = [k for k in prices if fnmatch.fnmatchcase(model, k)]
    return prices[max(matches, key=len)] if matches else None


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for text we cannot tokenize (about 3 characters a token)."""
    return len(text) // 3 + 1


class Budget:
    """Caps plus usage totals; thread-safe, shared by the models of a run."""

    def __init__(self, caps: Caps | None = None, prices: dict[str, Price] | None = None):
        self.caps = caps or Caps()
        self.usage = Usage()
        self._prices = prices
        self._lock = threading.Lock()
        self._noted: set[str] = set()

    @property
    def prices(self) -> dict[str, Price]:
        if self._prices is None:
            self._prices = load_prices()
        return self._prices

    def known_price(self, model: str) -> Price | None:
        """The override, the user's table, litellm's cost map, then the bundled prices.yaml."""
        c = self.caps
        if c.price_in is not None or c.price_out is not None:
            return Price(c.price_in or 0.0, c.price_out or 0.0)
        p = find_price(self.prices, model)
        if p is None:
            from patchwarden.repair.models.prices import registry_price
            found = registry_price(model)
            p = Price(*found) if found else find_price(load_prices(DEFAULT_PRICES), model)
        return p

    def require_price(self, model: str, local: bool = False) -> None:
        """With `max_cost`, refuse a model whose price is unknown (it would count as free)."""
        if self.caps.max_cost is None or local or self.known_price(model) is not None:
            return
        raise UnknownPrice(f"--max-cost is set but the price of model {model!r} is unknown, so the cap could not hold; "
                           "pass --price-in USD --price-out USD (per 1M tokens), or a price table "
                           f"({PRICES_ENV}=FILE with `{model}: {{input: USD, output: USD}}`)")

    def price_of(self, model: str, local: bool = False) -> Price:
        if local:
            return Price(0.0, 0.0)
        p = self.known_price(model)
        if p is None:
            if model not in self._noted:
                self._noted.add(model)
                self.usage.notes.append(f"no price for model {model!r}: cost counted as 0 (add it to the price table)")
            return Price(0.0, 0.0)
        return p

    def plan(self, model: str, prompt_tokens: int, n: int, max_new: int, local: bool = False) -> int:
        """Check the caps before a call; return the new-token limit per sample that keeps them.

        Raises BudgetExceeded when the call cannot be made within the caps.
        """
        c, u = self.caps, self.usage
        with self._lock:
            if c.max_calls is not None and u.calls >= c.max_calls:
                raise BudgetExceeded(f"max_calls={c.max_calls} reached")
            if c.max_tokens is not None:
                left = c.max_tokens - u.tokens - prompt_tokens
                if left < n * MIN_NEW_TOKENS:
                    raise BudgetExceeded(f"max_tokens={c.max_tokens} reached ({u.tokens} used)")
                max_new = min(max_new, left // n)
            if c.max_cost is not None:
                p = self.price_of(model, local)
                left = c.max_cost - u.cost - prompt_tokens * p.input / 1e6
                if p.output > 0:
                    affordable = int(left * 1e6 / p.output) // n if left > 0 else 0
                    if affordable < MIN_NEW_TOKENS:
                        raise BudgetExceeded(f"max_cost=${c.max_cost} reached (${u.cost:.4f} spent)")
                    max_new = min(max_new, affordable)
                elif left < 0:
                    raise BudgetExceeded(f"max_cost=${c.max_cost} reached (${u.cost:.4f} spent)")
            return max_new

    def record(self, model: str, prompt_tokens: int, completion_tokens: int, local: bool = False) -> float:
        """Add one finished call to the totals; return its cost."""
        with self._lock:
            p = self.price_of(model, local)
            cost = (prompt_tokens * p.input + completion_tokens * p.output) / 1e6
            self.usage.calls += 1
            self.usage.prompt_tokens += prompt_tokens
            self.usage.completion_tokens += completion_tokens
            self.usage.cost += cost
            return cost
