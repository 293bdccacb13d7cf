"""A late event of a closed month is booked in the first open month, as a visible adjustment."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.closing.services import month_close
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.usage.models import UsageEvent
from tests.rollups.events import event, ingest, refresh_dirty_days

from .conftest import billed

pytestmark = pytest.mark.django_db


def test_it_keeps_its_timestamp_and_is_booked_on_the_first_day_of_the_next_open_month(closed_ledger, api_key):
    ingest(api_key, event(day=closed_ledger.closed_day, hour=9, team="search", event_id="late-1"))
    refresh_dirty_days()

    late = UsageEvent.objects.get(event_id="late-1")
    assert late.timestamp == datetime.combine(closed_ledger.closed_day, time(9), tzinfo=UTC)
    assert (late.day, late.adjusts_month) == (closed_ledger.open, f"{closed_ledger.closed:%Y-%m}")
    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    assert billed(closed_ledger.open) == Decimal("0.009000000")


def test_it_shows_as_its_own_line_in_the_rollups_and_breakdowns(closed_ledger, api_key, team):
    ingest(api_key, event(day=closed_ledger.closed_day, team="search"))
    refresh_dirty_days()

    row = DailyRollup.objects.get(day=closed_ledger.open)
    assert (row.adjusts_month, row.billed_cost) == (f"{closed_ledger.closed:%Y-%m}", Decimal("0.004500000"))
    adjustments = DailyBreakdown.objects.filter(dimension="adjustment", team=team).order_by("day")
    assert [(b.day, b.value, b.billed_cost) for b in adjustments] == [
        (closed_ledger.closed_day, "", Decimal("0.004500000")),
        (closed_ledger.open, f"{closed_ledger.closed:%Y-%m}", Decimal("0.004500000")),
        (closed_ledger.open_day, "", Decimal("0.004500000")),
    ]


def test_it_skips_every_closed_month_to_the_first_open_one(closed_ledger, api_key):
    month_close(month=closed_ledger.open, today=timezone.now().date())

    ingest(api_key, event(day=closed_ledger.closed_day, team="search", event_id="late-1"))

    late = UsageEvent.objects.get(event_id="late-1")
    assert (late.day, late.adjusts_month) == (timezone.now().date().replace(day=1), f"{closed_ledger.closed:%Y-%m}")


def test_an_event_of_an_open_past_month_is_booked_on_its_own_day(closed_ledger, api_key):
    ingest(api_key, event(day=closed_ledger.open_day, team="search", event_id="on-time"))

    on_time = UsageEvent.objects.get(event_id="on-time")
    assert (on_time.day, on_time.adjusts_month) == (closed_ledger.open_day, "")


def test_a_resent_late_event_is_a_duplicate(closed_ledger, api_key):
    late = event(day=closed_ledger.closed_day, team="search")
    ingest(api_key, late)

    assert ingest(api_key, late).duplicates == 1
    assert UsageEvent.objects.filter(adjusts_month=f"{closed_ledger.closed:%Y-%m}").count() == 1


def test_every_event_is_counted_once_across_the_months(closed_ledger, api_key):
    ingest(
        api_key,
        *(event(day=closed_ledger.closed_day, team="search", input_tokens=333, output_tokens=7) for _ in range(3)),
    )
    refresh_dirty_days()

    events_total = sum(UsageEvent.objects.values_list("billed_cost", flat=True), Decimal(0))
    assert events_total == billed(closed_ledger.closed) + billed(closed_ledger.open)
    # $0.0045 on time, and three late events of 333 in, 7 out: $0.001104 each.
    assert billed(closed_ledger.open) == Decimal("0.007812000")


def test_the_month_that_received_it_shows_it_as_an_adjustment_line(closed_ledger, api_key, lead, finance, as_user):
    ingest(api_key, event(day=closed_ledger.closed_day, team="search", input_tokens=1_000_000, output_tokens=0))
    refresh_dirty_days()
    line = (
        f"<td>Late events of {closed_ledger.closed:%B %Y} (closed)</td>"
        '<td class="num"><span class="money">$3.00</span></td><td class="num">1</td>'
    )

    team_page = as_user(lead).get(f"/teams/search/?month={closed_ledger.open:%Y-%m}").content.decode()
    overview = as_user(finance).get(f"/overview/?month={closed_ledger.open:%Y-%m}").content.decode()
    closed_month = as_user(finance).get(f"/overview/?month={closed_ledger.closed:%Y-%m}").content.decode()

    assert line in team_page
    assert line in overview
    assert 'id="adjustments"' not in closed_month
