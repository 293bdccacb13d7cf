"""event_rate: every price component, fallbacks, tiers, discounts, effective dates, aliases, rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.pricing.models import ModelAlias
from apps.pricing.rating import TOKEN_FIELDS, TokenCounts, catalog, event_rate
from tests.factories import ModelAliasFactory, ModelPriceFactory, NegotiatedDiscountFactory

pytestmark = pytest.mark.django_db

AT = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def rate(**event):
    """Rate an event at AT of anthropic/test-model with no tokens unless the test says otherwise."""
    call = {"provider": "anthropic", "model": "test-model", "timestamp": AT, "service_tier": "standard"}
    tokens = {name: event.pop(name) for name in TOKEN_FIELDS if name in event}
    return event_rate(**{**call, **event}, tokens=TokenCounts(**tokens))


@pytest.fixture
def long_context_price():
    return ModelPriceFactory(
        long_context_threshold=200_000,
        long_input_per_mtok=Decimal("6"),
        long_output_per_mtok=Decimal("22.5"),
        long_cache_read_per_mtok=Decimal("0.6"),
        long_cache_write_per_mtok=Decimal("7.5"),
        long_cache_write_1h_per_mtok=Decimal("12"),
    )


def test_it_prices_input_tokens(price):
    assert rate(input_tokens=1000).list_cost == Decimal("0.003000000")


def test_it_prices_output_tokens(price):
    assert rate(output_tokens=1000).list_cost == Decimal("0.015000000")


def test_it_prices_cache_reads_as_part_of_the_input(price):
    # 600 uncached × $3 + 400 read × $0.30
    assert rate(input_tokens=1000, cache_read_tokens=400).list_cost == Decimal("0.001920000")


def test_it_prices_cache_writes_at_the_5_minute_price(price):
    # 600 uncached × $3 + 400 written × $3.75
    assert rate(input_tokens=1000, cache_write_tokens=400).list_cost == Decimal("0.003300000")


def test_it_prices_1_hour_writes_as_a_subset_of_the_cache_writes(price):
    # 600 uncached × $3 + 300 five-minute writes × $3.75 + 100 one-hour writes × $6
    rating = rate(input_tokens=1000, cache_write_tokens=400, cache_write_1h_tokens=100)
    assert rating.list_cost == Decimal("0.003525000")


def test_it_records_the_price_row_it_used(price):
    assert rate(input_tokens=1000).price_id == price.id


def test_a_blank_cache_read_price_falls_back_to_the_input_price():
    ModelPriceFactory(cache_read_per_mtok=None)
    assert rate(input_tokens=1000, cache_read_tokens=400).list_cost == Decimal("0.003000000")


def test_a_blank_cache_write_price_falls_back_to_the_input_price():
    ModelPriceFactory(cache_write_per_mtok=None, cache_write_1h_per_mtok=None)
    rating = rate(input_tokens=1000, cache_write_tokens=400, cache_write_1h_tokens=100)
    assert rating.list_cost == Decimal("0.003000000")


def test_a_blank_1_hour_write_price_falls_back_to_the_5_minute_write_price():
    ModelPriceFactory(cache_write_1h_per_mtok=None)
    # 600 uncached × $3 + 400 writes (100 of them 1h) × $3.75
    rating = rate(input_tokens=1000, cache_write_tokens=400, cache_write_1h_tokens=100)
    assert rating.list_cost == Decimal("0.003300000")


def test_it_uses_base_prices_at_exactly_the_long_context_threshold(long_context_price):
    # 200,000 × $3 + 1,000 × $15
    assert rate(input_tokens=200_000, output_tokens=1000).list_cost == Decimal("0.615000000")


def test_it_uses_tier_prices_on_the_whole_request_one_token_above_the_threshold(long_context_price):
    # 200,001 × $6 + 1,000 × $22.50
    assert rate(input_tokens=200_001, output_tokens=1000).list_cost == Decimal("1.222506000")


def test_the_long_context_tier_counts_cached_input_and_prices_it_at_tier_cache_prices(long_context_price):
    # 100,001 uncached × $6 + 50,000 read × $0.60 + 30,000 5m writes × $7.50 + 20,000 1h writes × $12
    rating = rate(
        input_tokens=200_001, cache_read_tokens=50_000, cache_write_tokens=50_000, cache_write_1h_tokens=20_000
    )
    assert rating.list_cost == Decimal("1.095006000")


def test_batch_requests_get_the_rows_batch_discount(price):
    # (1,000 × $3 + 1,000 × $15) × 50%
    rating = rate(input_tokens=1000, output_tokens=1000, service_tier="batch")
    assert (rating.list_cost, rating.billed_cost) == (Decimal("0.009000000"), Decimal("0.009000000"))


def test_other_service_tiers_pay_list_price(price):
    assert rate(input_tokens=1000, output_tokens=1000, service_tier="flex").list_cost == Decimal("0.018000000")


def test_a_provider_wide_negotiated_discount_lowers_the_billed_cost_not_the_list_cost(price):
    NegotiatedDiscountFactory(percent_off=Decimal("10"))
    rating = rate(input_tokens=1000, output_tokens=1000)
    assert (rating.list_cost, rating.billed_cost) == (Decimal("0.018000000"), Decimal("0.016200000"))


def test_a_model_specific_discount_wins_over_the_provider_wide_one(price):
    NegotiatedDiscountFactory(percent_off=Decimal("10"))
    NegotiatedDiscountFactory(model="test-model", percent_off=Decimal("20"))
    assert rate(input_tokens=1000, output_tokens=1000).billed_cost == Decimal("0.014400000")


def test_a_discount_for_another_model_does_not_apply(price):
    NegotiatedDiscountFactory(model="other-model", percent_off=Decimal("20"))
    assert rate(input_tokens=1000, output_tokens=1000).billed_cost == Decimal("0.018000000")


def test_a_discount_applies_until_just_before_its_end(price):
    NegotiatedDiscountFactory(percent_off=Decimal("10"), effective_until=AT)
    rating = rate(input_tokens=1000, output_tokens=1000, timestamp=AT - timedelta(microseconds=1))
    assert rating.billed_cost == Decimal("0.016200000")


def test_a_discount_no_longer_applies_from_its_end(price):
    NegotiatedDiscountFactory(percent_off=Decimal("10"), effective_until=AT)
    assert rate(input_tokens=1000, output_tokens=1000, timestamp=AT).billed_cost == Decimal("0.018000000")


def test_a_discount_does_not_apply_before_it_starts(price):
    NegotiatedDiscountFactory(percent_off=Decimal("10"), effective_from=AT)
    rating = rate(input_tokens=1000, output_tokens=1000, timestamp=AT - timedelta(seconds=1))
    assert rating.billed_cost == Decimal("0.018000000")


def test_an_event_before_a_mid_day_price_change_pays_the_old_price(price):
    ModelPriceFactory(effective_from=AT, input_per_mtok=Decimal("1"), output_per_mtok=Decimal("5"))
    rating = rate(input_tokens=1000, output_tokens=1000, timestamp=AT - timedelta(seconds=1))
    assert (rating.list_cost, rating.price_id) == (Decimal("0.018000000"), price.id)


def test_an_event_from_the_moment_of_a_price_change_pays_the_new_price(price):
    new_price = ModelPriceFactory(effective_from=AT, input_per_mtok=Decimal("1"), output_per_mtok=Decimal("5"))
    rating = rate(input_tokens=1000, output_tokens=1000, timestamp=AT)
    assert (rating.list_cost, rating.price_id) == (Decimal("0.006000000"), new_price.id)


def test_it_resolves_an_exact_model_alias(price):
    ModelAliasFactory(alias="sonnet-latest", model="test-model")
    rating = rate(model="sonnet-latest", input_tokens=1000)
    assert (rating.list_cost, rating.price_id) == (Decimal("0.003000000"), price.id)


def test_a_model_alias_of_another_provider_does_not_apply(price):
    ModelAliasFactory(provider="openai", alias="sonnet-latest", model="test-model")
    assert rate(model="sonnet-latest", input_tokens=1000).unpriced


@pytest.mark.parametrize(
    "name", ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5-2025-09-29"]
)
def test_a_dated_snapshot_name_resolves_to_its_undated_model(name):
    price = ModelPriceFactory(model="claude-sonnet-4-5")
    rating = rate(model=name, input_tokens=1000)
    assert (rating.list_cost, rating.price_id) == (Decimal("0.003000000"), price.id)


def test_the_longest_prefix_alias_wins():
    ModelPriceFactory(model="gpt-x")
    mini = ModelPriceFactory(model="gpt-x-mini", input_per_mtok=Decimal("1"))
    ModelAliasFactory(provider="anthropic", alias="gpt-x", match=ModelAlias.Match.PREFIX, model="gpt-x")
    ModelAliasFactory(provider="anthropic", alias="gpt-x-mini", match=ModelAlias.Match.PREFIX, model="gpt-x-mini")
    rating = rate(model="gpt-x-mini-fast", input_tokens=1000)
    assert (rating.list_cost, rating.price_id) == (Decimal("0.001000000"), mini.id)


def test_a_discount_on_the_resolved_model_applies_to_its_aliases(price):
    ModelAliasFactory(alias="sonnet-latest", model="test-model")
    NegotiatedDiscountFactory(model="test-model", percent_off=Decimal("20"))
    assert rate(model="sonnet-latest", input_tokens=1000).billed_cost == Decimal("0.002400000")


def test_an_unknown_model_is_unpriced_at_zero(price):
    rating = rate(model="mystery-model", input_tokens=1000, output_tokens=1000)
    assert (rating.list_cost, rating.billed_cost, rating.price_id) == (
        Decimal("0.000000000"),
        Decimal("0.000000000"),
        None,
    )
    assert rating.unpriced


def test_an_event_before_the_first_price_row_is_unpriced():
    ModelPriceFactory(effective_from=AT)
    rating = rate(input_tokens=1000, timestamp=AT - timedelta(seconds=1))
    assert (rating.list_cost, rating.price_id) == (Decimal(0), None)


@pytest.mark.parametrize(
    ("tokens", "cost"),
    [
        (1, Decimal("0.000000000")),  # 0.5 nano rounds to the even 0
        (3, Decimal("0.000000002")),  # 1.5 nano rounds to the even 2
        (5, Decimal("0.000000002")),  # 2.5 nano rounds to the even 2, not up to 3
        (7, Decimal("0.000000004")),  # 3.5 nano rounds to the even 4, not down to 3
    ],
)
def test_it_rounds_half_even_to_a_nano_dollar(tokens, cost):
    ModelPriceFactory(input_per_mtok=Decimal("0.0005"))
    assert rate(input_tokens=tokens).list_cost == cost


def test_the_catalog_remembers_a_bounded_number_of_model_names(price, monkeypatch):
    monkeypatch.setattr("apps.pricing.rating.MAX_RESOLVED", 3)
    prices = catalog.get()
    for n in range(10):
        prices.resolve("anthropic", f"client-made-up-{n}")

    assert len(prices._resolved) <= 3
    assert prices.resolve("anthropic", "test-model") == "test-model"


def test_a_billed_cost_exactly_half_a_nano_rounds_to_the_even_nano():
    # 1 token × $0.005 per million = $0.000000005 list; 50% off bills 2.5 nano-dollars.
    ModelPriceFactory(input_per_mtok=Decimal("0.005"))
    NegotiatedDiscountFactory(percent_off=Decimal("50"))
    rating = rate(input_tokens=1)
    assert (rating.list_cost, rating.billed_cost) == (Decimal("0.000000005"), Decimal("0.000000002"))
    # …and 3 tokens bill 7.5 nanos, which rounds up to the even 8.
    assert rate(input_tokens=3).billed_cost == Decimal("0.000000008")


def test_a_batch_list_cost_exactly_half_a_nano_rounds_to_the_even_nano():
    ModelPriceFactory(input_per_mtok=Decimal("0.005"))
    rating = rate(input_tokens=1, service_tier="batch")
    assert (rating.list_cost, rating.billed_cost) == (Decimal("0.000000002"), Decimal("0.000000002"))


def test_cache_savings_are_on_the_billed_basis_and_rounded_half_even():
    ModelPriceFactory(input_per_mtok=Decimal("0.005"), cache_read_per_mtok=Decimal("0.002"))
    NegotiatedDiscountFactory(percent_off=Decimal("50"))
    # A cache read saves ($0.005 − $0.002) per million = 3 nanos at list, 1.5 billed → the even 2;
    # three save 4.5 billed nanos → the even 4.
    assert rate(input_tokens=1, cache_read_tokens=1).cache_savings == Decimal("0.000000002")
    assert rate(input_tokens=3, cache_read_tokens=3).cache_savings == Decimal("0.000000004")


def test_cache_writes_count_against_the_savings_at_their_own_prices(price):
    # 300 5-minute writes cost $0.75 more than input, 100 1-hour writes $3 more, per million.
    rating = rate(input_tokens=1000, cache_write_tokens=400, cache_write_1h_tokens=100)
    assert rating.cache_savings == Decimal("-0.000525000")


def test_batch_savings_are_discounted_like_the_cost(price):
    # 400 reads save $2.70 per million, halved by the batch discount.
    rating = rate(input_tokens=1000, cache_read_tokens=400, service_tier="batch")
    assert rating.cache_savings == Decimal("0.000540000")


def test_a_discount_applies_from_its_first_instant(price):
    NegotiatedDiscountFactory(percent_off=Decimal("50"), effective_from=AT)
    assert rate(input_tokens=1000, timestamp=AT).billed_cost == Decimal("0.001500000")


def test_token_counts_as_a_dict_name_every_field():
    tokens = TokenCounts(*range(1, 7))
    assert tokens.as_dict() == dict(zip(TOKEN_FIELDS, range(1, 7), strict=True))


def test_price_rows_entered_out_of_order_apply_by_their_start():
    ModelPriceFactory(effective_from=AT, input_per_mtok=Decimal("2"))  # entered first, starts later
    ModelPriceFactory(effective_from=AT - timedelta(days=30), input_per_mtok=Decimal("1"))
    assert rate(input_tokens=1000, timestamp=AT - timedelta(days=1)).list_cost == Decimal("0.001000000")
    assert rate(input_tokens=1000, timestamp=AT).list_cost == Decimal("0.002000000")
