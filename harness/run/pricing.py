"""Cost estimates from `data/prices.yaml` (USD per 1M tokens). Unknown models cost None, not 0."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.core.resources import packaged

PRICES_PATH = packaged("prices.yaml")


def load_prices(path: Path = PRICES_PATH) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def price_for(model: str | None, prices: dict) -> dict | None:
    if not model:
        return None
    matches = [key for key in prices.get("models", {}) if model == key or model.startswith(key)]
    return prices["models"][max(matches, key=len)] if matches else None


def estimate_cost(model: str | None, prompt_tokens: int, completion_tokens: int, prices: dict | None = None,
                  batch: bool = False) -> float | None:
    """USD; the Batch API costs `batch_discount` of the normal price."""
    prices = prices if prices is not None else load_prices()
    price = price_for(model, prices)
    if price is None:
        return None
    factor = prices.get("batch_discount", 0.5) if batch else 1.0
    return round(factor * (prompt_tokens * price["input"] + completion_tokens * price["output"]) / 1e6, 6)
