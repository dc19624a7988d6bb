"""USD per million tokens, by model family, for the cost column of usage_events."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal


def _price(inp: str, out: str) -> Price:
    """Anthropic bills 5-minute cache writes at 1.25 times input and cache reads at 0.1 times input."""
    base = Decimal(inp)
    return Price(base, Decimal(out), base * Decimal("1.25"), base * Decimal("0.1"))


# Longest matching prefix wins, so a dated model id finds its family.
PRICES: dict[str, Price] = {
    "claude-opus-4-1": _price("15", "75"),
    "claude-opus-4-0": _price("15", "75"),
    "claude-opus-4": _price("5", "25"),
    "claude-sonnet-4": _price("3", "15"),
    "claude-3-7-sonnet": _price("3", "15"),
    "claude-haiku-4": _price("1", "5"),
    "claude-3-5-haiku": _price("0.8", "4"),
    "scripted": _price("0", "0"),
}


def price_for(model: str) -> Price | None:
    matches = [prefix for prefix in PRICES if model.startswith(prefix)]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(model: str, input_tokens: int, output_tokens: int, cache_write: int, cache_read: int) -> Decimal:
    """Zero for a model missing from the table; the caller logs that so the table gets updated."""
    price = price_for(model)
    if price is None:
        return Decimal(0)
    total = (
        price.input * input_tokens
        + price.output * output_tokens
        + price.cache_write * cache_write
        + price.cache_read * cache_read
    )
    return (total / MILLION).quantize(Decimal("0.000001"))
