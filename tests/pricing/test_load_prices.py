"""load_prices: the price table filled from the genai-prices package's bundled data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.pricing.models import ModelAlias, ModelPrice
from apps.pricing.rating import TokenCounts, event_rate

pytestmark = pytest.mark.django_db

AT = datetime(2025, 10, 1, 9, 30, tzinfo=UTC)


def rate(*, provider: str, model: str, timestamp, **tokens):
    return event_rate(provider=provider, model=model, timestamp=timestamp, tokens=TokenCounts(**tokens))


def load_prices() -> str:
    out = StringIO()
    call_command("load_prices", stdout=out)
    return out.getvalue()


def sonnet_4_5() -> ModelPrice:
    return ModelPrice.objects.get(provider="anthropic", model="claude-sonnet-4-5")


def test_it_creates_price_rows_from_the_package():
    load_prices()
    price = sonnet_4_5()
    assert (price.input_per_mtok, price.output_per_mtok, price.source) == (
        Decimal("3"),
        Decimal("15"),
        ModelPrice.Source.GENAI_PRICES,
    )


def test_it_loads_the_long_context_tier():
    load_prices()
    price = sonnet_4_5()
    assert (price.long_context_threshold, price.long_input_per_mtok, price.long_output_per_mtok) == (
        200_000,
        Decimal("6"),
        Decimal("22.5"),
    )


def test_a_price_the_package_does_not_tier_is_the_same_above_the_threshold():
    load_prices()
    # grok-4-fast tiers its input and output at 128k tokens, not its cache reads ($0.05).
    price = ModelPrice.objects.get(provider="openrouter", model="x-ai/grok-4-fast")
    assert (price.long_input_per_mtok, price.cache_read_per_mtok, price.long_cache_read_per_mtok) == (
        Decimal("0.4"),
        Decimal("0.05"),
        Decimal("0.05"),
    )


def test_it_names_the_models_whose_further_tiers_it_leaves_out():
    assert "openrouter/qwen/qwen3-coder-flash" in load_prices()


def test_it_names_providers_as_events_do():
    load_prices()
    assert ModelPrice.objects.filter(provider="aws.bedrock").exists()
    assert not ModelPrice.objects.filter(provider="aws").exists()


def test_a_second_run_creates_nothing():
    load_prices()
    counts = (ModelPrice.objects.count(), ModelAlias.objects.count())
    output = load_prices()
    assert "Prices: 0 created" in output
    assert "0 model aliases created" in output
    assert (ModelPrice.objects.count(), ModelAlias.objects.count()) == counts


def test_a_reload_keeps_a_price_an_admin_edited():
    load_prices()
    price = sonnet_4_5()
    price.input_per_mtok = Decimal("2.5")
    price.save()
    load_prices()
    assert sonnet_4_5().input_per_mtok == Decimal("2.500000")


def test_the_loaded_price_rates_a_dated_sonnet_4_5_event_exactly():
    load_prices()
    rating = rate(
        provider="anthropic",
        model="claude-sonnet-4-5-20250929",
        timestamp=AT,
        input_tokens=10_000,
        cache_read_tokens=2_000,
        cache_write_tokens=1_000,
        cache_write_1h_tokens=400,
        output_tokens=500,
    )
    # 7,000 × $3 + 2,000 × $0.30 + 600 × $3.75 + 400 × $6 + 500 × $15, per million
    assert (rating.list_cost, rating.price_id) == (Decimal("0.033750000"), sonnet_4_5().id)


def test_the_loaded_price_rates_a_long_context_sonnet_4_5_event_at_the_tier_price():
    load_prices()
    rating = rate(
        provider="anthropic", model="claude-sonnet-4-5", timestamp=AT, input_tokens=250_000, output_tokens=1_000
    )
    # 250,000 × $6 + 1,000 × $22.50, per million
    assert rating.list_cost == Decimal("1.522500000")


def test_a_name_the_package_matches_by_prefix_resolves_to_its_model():
    load_prices()
    rating = rate(
        provider="anthropic", model="claude-3-5-sonnet-latest", timestamp=AT, input_tokens=1_000, output_tokens=100
    )
    # 1,000 × $3 + 100 × $15, per million
    assert rating.list_cost == Decimal("0.004500000")


def test_rating_sees_prices_loaded_after_the_catalog_was_built(django_capture_on_commit_callbacks):
    assert rate(provider="anthropic", model="claude-sonnet-4-5", timestamp=AT, input_tokens=1, output_tokens=0).unpriced
    with django_capture_on_commit_callbacks(execute=True):
        load_prices()
    rating = rate(provider="anthropic", model="claude-sonnet-4-5", timestamp=AT, input_tokens=1_000, output_tokens=0)
    assert rating.list_cost == Decimal("0.003000000")


@pytest.mark.parametrize("input_tokens", [1_000, 2_000_000])
def test_every_loaded_price_rates_an_event_of_every_token_kind(input_tokens):
    load_prices()
    unrateable = []
    for provider, model in ModelPrice.objects.values_list("provider", "model").distinct():
        rating = rate(
            provider=provider,
            model=model,
            timestamp=AT,
            input_tokens=input_tokens,
            cache_read_tokens=100,
            cache_write_tokens=100,
            cache_write_1h_tokens=50,
            output_tokens=100,
        )
        if rating.unpriced or rating.list_cost < 0:
            unrateable.append(f"{provider}/{model}")
    assert unrateable == []
