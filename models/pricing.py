"""USD per million tokens, by exact model id, for the cost column of usage_events; also the list of models a
chat may use."""

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


def _price(inp: str, out: str, cache_write: str | None = None, cache_read: str | None = None) -> Price:
    """Anthropic bills 5-minute cache writes at 1.25 times input and cache reads at 0.1 times input, except where
    its price list says otherwise."""
    base = Decimal(inp)
    return Price(
        base,
        Decimal(out),
        Decimal(cache_write) if cache_write else base * Decimal("1.25"),
        Decimal(cache_read) if cache_read else base * Decimal("0.1"),
    )


_OPUS_4_5 = _price("5", "25")
_OPUS_4 = _price("15", "75")
_SONNET = _price("3", "15")
_HAIKU_4_5 = _price("1", "5")
_HAIKU_3_5 = _price("0.8", "4")

# Anthropic's published list prices, by exact model id (aliases and dated snapshots alike): a model missing here is
# refused when a message is sent, so nothing is ever billed at a guessed price.
PRICES: dict[str, Price] = {
    "claude-opus-4-8": _OPUS_4_5,
    "claude-opus-4-7": _OPUS_4_5,
    "claude-opus-4-6": _OPUS_4_5,
    "claude-opus-4-5": _OPUS_4_5,
    "claude-opus-4-5-20251101": _OPUS_4_5,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-1-20250805": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-opus-4-20250514": _OPUS_4,
    "claude-3-opus-latest": _OPUS_4,
    "claude-3-opus-20240229": _OPUS_4,
    "claude-sonnet-4-6": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-sonnet-4-5-20250929": _SONNET,
    "claude-sonnet-4-0": _SONNET,
    "claude-sonnet-4-20250514": _SONNET,
    "claude-3-7-sonnet-latest": _SONNET,
    "claude-3-7-sonnet-20250219": _SONNET,
    "claude-3-5-sonnet-latest": _SONNET,
    "claude-3-5-sonnet-20241022": _SONNET,
    "claude-3-5-sonnet-20240620": _SONNET,
    "claude-haiku-4-5": _HAIKU_4_5,
    "claude-haiku-4-5-20251001": _HAIKU_4_5,
    "claude-3-5-haiku-latest": _HAIKU_3_5,
    "claude-3-5-haiku-20241022": _HAIKU_3_5,
    "claude-3-haiku-20240307": _price("0.25", "1.25", cache_write="0.30", cache_read="0.03"),
    "scripted": _price("0", "0"),
}


def price_for(model: str) -> Price | None:
    return PRICES.get(model)


def cost_usd(model: str, input_tokens: int, output_tokens: int, cache_write: int, cache_read: int) -> Decimal:
    """Zero for a model missing from the table (sends refuse those; the caller logs it if one slips through)."""
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
