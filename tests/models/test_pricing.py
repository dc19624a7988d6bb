"""Every model in the price table costs what Anthropic's price list says, looked up by its exact id."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.pricing import PRICES, cost_usd, price_for
from models.settings import Settings

# Anthropic's published prices in USD per million tokens: input, 5-minute cache write, cache read, output.
PUBLISHED = {
    ("5", "6.25", "0.50", "25"): [
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-opus-4-6",
        "claude-opus-4-5",
        "claude-opus-4-5-20251101",
    ],
    ("15", "18.75", "1.50", "75"): [
        "claude-opus-4-1",
        "claude-opus-4-1-20250805",
        "claude-opus-4-0",
        "claude-opus-4-20250514",
        "claude-3-opus-latest",
        "claude-3-opus-20240229",
    ],
    ("3", "3.75", "0.30", "15"): [
        "claude-sonnet-4-6",
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-0",
        "claude-sonnet-4-20250514",
        "claude-3-7-sonnet-latest",
        "claude-3-7-sonnet-20250219",
        "claude-3-5-sonnet-latest",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-sonnet-20240620",
    ],
    ("1", "1.25", "0.10", "5"): ["claude-haiku-4-5", "claude-haiku-4-5-20251001"],
    ("0.80", "1", "0.08", "4"): ["claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"],
    ("0.25", "0.30", "0.03", "1.25"): ["claude-3-haiku-20240307"],
    ("0", "0", "0", "0"): ["scripted"],
}
EXPECTED = {model: tuple(Decimal(p) for p in prices) for prices, models in PUBLISHED.items() for model in models}


def test_the_table_lists_exactly_the_published_models() -> None:
    assert set(PRICES) == set(EXPECTED)


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_each_model_is_billed_at_its_own_price(model: str) -> None:
    inp, cache_write, cache_read, out = EXPECTED[model]
    # A million tokens of each kind, then a mixed call: 1,000 in, 200 out, 3,000 cache writes, 40,000 cache reads.
    assert cost_usd(model, 1_000_000, 0, 0, 0) == inp
    assert cost_usd(model, 0, 1_000_000, 0, 0) == out
    assert cost_usd(model, 0, 0, 1_000_000, 0) == cache_write
    assert cost_usd(model, 0, 0, 0, 1_000_000) == cache_read
    mixed = (inp * 1000 + out * 200 + cache_write * 3000 + cache_read * 40_000) / 1_000_000
    assert cost_usd(model, 1000, 200, 3000, 40_000) == mixed.quantize(Decimal("0.000001"))


@pytest.mark.parametrize(
    "model", ["claude-opus-4", "claude-3-5-sonnet", "claude-sonnet-4-6-20990101", "claude-opus-4-20250514x", "gpt-5"]
)
def test_ids_outside_the_table_have_no_price(model: str) -> None:
    assert price_for(model) is None
    assert cost_usd(model, 1000, 1000, 0, 0) == 0


def test_a_default_model_without_a_price_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="unknown model"):
        Settings(model="claude-3-5-sonnet")
    assert Settings(model="claude-opus-4-20250514").default_model() == "claude-opus-4-20250514"
