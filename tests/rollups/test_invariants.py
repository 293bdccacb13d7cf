"""The rollup invariant as a property: for random event sets, rollups add up exactly to the raw events."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.allocation.models import AllocationResult
from apps.rollups.models import DailyRollup
from apps.rollups.services import dirty_days
from apps.usage.models import DirtyMark, UsageEvent
from tests.factories import ApiKeyFactory, ModelPriceFactory, NegotiatedDiscountFactory, TeamFactory

from .events import (
    days_ago,
    event_totals,
    event_totals_by_team,
    ingest,
    refresh_dirty_days,
    rollup_totals,
    rollup_totals_by_team,
)

DAYS_BACK = 4
# Known teams, unknown ones, and no team tag at all.
TEAMS = st.sampled_from(["search", "billing", "platform", "ghost", "Phantom Team", None])
# Priced, priced with a long-context tier, priced at fractions of a nano per token, and unpriced.
MODELS = st.sampled_from(["test-model", "long-model", "tiny-model", "mystery-model"])


@st.composite
def payloads(draw) -> dict:
    input_tokens = draw(st.integers(0, 400_000))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    output_tokens = draw(st.integers(0, 50_000))
    day = days_ago(draw(st.integers(1, DAYS_BACK)))
    at = datetime.combine(day, time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), tzinfo=UTC)
    payload = {
        # A small pool of ids, so batches repeat events within themselves and across each other.
        "event_id": f"e{draw(st.integers(0, 40))}",
        "timestamp": at.isoformat(),
        "provider": "anthropic",
        "model": draw(MODELS),
        "input_tokens": input_tokens,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": draw(st.integers(0, cache_write)),
        "output_tokens": output_tokens,
        "reasoning_tokens": draw(st.integers(0, output_tokens)),
        "service_tier": draw(st.sampled_from(["standard", "batch", "priority"])),
        "outcome": draw(st.sampled_from(["success", "success", "error"])),
    }
    for tag, values in (("team", TEAMS), ("trace_id", st.sampled_from([None, "t1", "t2"]))):
        value = draw(values)
        if value:
            payload[tag] = value
    return payload


# (which key sends it, the events, whether beat refreshes right after it)
batches = st.lists(
    st.tuples(st.integers(0, 1), st.lists(payloads(), min_size=1, max_size=12), st.booleans()),
    min_size=1,
    max_size=3,
)


@pytest.fixture
def keys(db):
    for slug in ("search", "billing"):
        TeamFactory(slug=slug)
    TeamFactory(slug="platform", is_shared=True)
    ModelPriceFactory()
    ModelPriceFactory(
        model="long-model",
        long_context_threshold=200_000,
        long_input_per_mtok=Decimal("6"),
        long_output_per_mtok=Decimal("22.5"),
    )
    ModelPriceFactory(
        model="tiny-model",
        input_per_mtok=Decimal("0.0375"),
        output_per_mtok=Decimal("0.15"),
        cache_read_per_mtok=Decimal("0.01"),
        cache_write_per_mtok=None,
        cache_write_1h_per_mtok=None,
    )
    NegotiatedDiscountFactory(model="test-model", percent_off=Decimal("7.5"))
    return [ApiKeyFactory(), ApiKeyFactory()]


def _start_clean() -> None:
    # Function-scoped fixtures are shared by every example, so each example clears what it wrote.
    AllocationResult.objects.all().delete()
    DailyRollup.objects.all().delete()
    UsageEvent.objects.all().delete()
    DirtyMark.objects.all().delete()


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_rollups_add_up_exactly_to_the_events_of_every_day(keys, batches):
    _start_clean()
    for key_index, events, refresh_after in batches:
        ingest(keys[key_index], *events)
        if refresh_after:
            refresh_dirty_days()

    refresh_dirty_days()

    assert dirty_days() == []
    for day in (days_ago(n) for n in range(1, DAYS_BACK + 1)):
        assert rollup_totals(day) == event_totals(day)
        assert rollup_totals_by_team(day) == event_totals_by_team(day)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_rollups_count_errors_unpriced_events_and_unattributed_spend_exactly(keys, batches):
    _start_clean()
    for key_index, events, _ in batches:
        ingest(keys[key_index], *events)

    refresh_dirty_days()

    rows = DailyRollup.objects.all()
    events = UsageEvent.objects.all()
    assert sum(r.errors for r in rows) == events.exclude(outcome="success").count()
    assert sum(r.unpriced for r in rows) == events.filter(unpriced=True).count()
    assert sum(r.requests for r in rows.filter(team__isnull=True)) == events.filter(team__isnull=True).count()
    assert sum((r.billed_cost for r in rows.filter(team__isnull=True)), Decimal(0)) == sum(
        (e.billed_cost for e in events.filter(team__isnull=True)), Decimal(0)
    )
