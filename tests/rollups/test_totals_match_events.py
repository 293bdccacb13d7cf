"""The rollup invariant on examples: a day's rollup rows add up exactly to its raw events."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from apps.closing.changes import price_change
from apps.rollups.models import DailyRollup
from apps.usage.models import UsageEvent
from apps.usage.services import events_reattribute, events_rerate
from tests.factories import ModelPriceFactory, NegotiatedDiscountFactory, TagAliasFactory, TeamFactory

from .events import (
    days_ago,
    event,
    event_totals,
    event_totals_by_team,
    ingest,
    refresh_dirty_days,
    rollup_totals,
    rollup_totals_by_team,
)

pytestmark = pytest.mark.django_db

DAYS = (days_ago(1), days_ago(2))


def _assert_rollups_match_events():
    for day in DAYS:
        assert rollup_totals(day) == event_totals(day)
        assert rollup_totals_by_team(day) == event_totals_by_team(day)


@pytest.fixture
def prices(price, cheap_price):
    NegotiatedDiscountFactory(model="test-model", percent_off=Decimal("12.5"))


def _mixed_batch(day):
    return [
        event(day=day, team="search", product="search-ui", trace_id="t1"),
        event(day=day, team="search", cache_read_tokens=600, cache_write_tokens=300, cache_write_1h_tokens=100),
        event(day=day, team="billing", model="cheap-model", service_tier="batch", output_tokens=333),
        event(day=day, team="ghost", outcome="error", reasoning_tokens=40),
        event(day=day, model="mystery-model"),
    ]


def test_they_match_after_ingestion(api_key, team, other_team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]), *_mixed_batch(DAYS[1]))

    refresh_dirty_days()

    assert rollup_totals(DAYS[0])["requests"] == 5
    _assert_rollups_match_events()


def test_they_match_the_exact_day_total(api_key, team, other_team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]))

    refresh_dirty_days()

    # List: 0.0045 + 0.00333 (cached) + 0.0013325 (batch, half price) + 0.0045 (ghost) + 0 (unpriced);
    # billed takes 12.5% off the three test-model events.
    assert rollup_totals(DAYS[0])["list_cost"] == Decimal("0.013662500")
    assert rollup_totals(DAYS[0])["billed_cost"] == Decimal("0.012121250")


def test_late_events_are_missing_until_their_day_is_refreshed(api_key, team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]))
    refresh_dirty_days()

    ingest(api_key, event(day=DAYS[0], team="search"))

    assert rollup_totals(DAYS[0]) != event_totals(DAYS[0])


def test_they_match_after_late_events_into_a_rebuilt_day(api_key, team, other_team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]))
    refresh_dirty_days()
    ingest(api_key, *_mixed_batch(DAYS[0]), event(day=DAYS[1], team="billing"))

    assert refresh_dirty_days() == [DAYS[1], DAYS[0]]
    assert rollup_totals(DAYS[0])["requests"] == 10
    _assert_rollups_match_events()


def test_they_match_after_duplicates(api_key, team, other_team, prices):
    batch = _mixed_batch(DAYS[0])
    ingest(api_key, *batch, batch[0], batch[1])
    refresh_dirty_days()
    result = ingest(api_key, *batch)
    refresh_dirty_days()

    assert result.duplicates == 5
    assert rollup_totals(DAYS[0])["requests"] == UsageEvent.objects.count() == 5
    _assert_rollups_match_events()


def test_they_match_after_re_rating(api_key, team, other_team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]), *_mixed_batch(DAYS[1]))
    refresh_dirty_days()
    before = rollup_totals(DAYS[0])["list_cost"]
    price = ModelPriceFactory(
        effective_from=datetime.combine(DAYS[1], time(0), tzinfo=UTC),
        input_per_mtok=Decimal("4"),
        output_per_mtok=Decimal("20"),
    )
    events_rerate(run=price_change(price=price))

    assert refresh_dirty_days() == [DAYS[1], DAYS[0]]
    # test-model's uncached input (1,000 + 100 + 1,000 tokens) costs $1/M more and its output
    # (3 × 100 tokens) $5/M more; cache prices stay: $0.0021 + $0.0015.
    assert rollup_totals(DAYS[0])["list_cost"] == before + Decimal("0.003600000")
    _assert_rollups_match_events()


def test_they_match_after_an_alias_re_attributes_history(api_key, team, other_team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]), *_mixed_batch(DAYS[1]))
    refresh_dirty_days()
    TagAliasFactory(dimension="team", alias="ghost", target="search")

    events_reattribute()

    assert refresh_dirty_days() == [DAYS[1], DAYS[0]]
    assert not DailyRollup.objects.filter(unattributed_reason="unknown").exists()
    _assert_rollups_match_events()


def test_they_match_after_registering_a_team_that_was_unknown(api_key, team, other_team, prices):
    ingest(api_key, *_mixed_batch(DAYS[0]))
    refresh_dirty_days()
    ghost = TeamFactory(slug="ghost")

    events_reattribute()

    assert refresh_dirty_days() == [DAYS[0]]
    assert rollup_totals_by_team(DAYS[0])[ghost.id]["requests"] == 1
    _assert_rollups_match_events()


def test_they_match_after_a_feature_alias_renames_history(api_key, team, prices):
    ingest(api_key, event(day=DAYS[0], team="search", feature="auto-complete"), event(day=DAYS[0], team="search"))
    refresh_dirty_days()
    TagAliasFactory(dimension="feature", alias="auto-complete", target="autocomplete")

    events_reattribute()
    refresh_dirty_days()

    assert set(DailyRollup.objects.values_list("feature", flat=True)) == {"autocomplete", ""}
    _assert_rollups_match_events()
