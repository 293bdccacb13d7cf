"""Before a month closes, its checklist lists what is still open; closing past it takes force and a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.billing.models import BillingLine
from apps.budgets.models import Anomaly
from apps.closing.checklist import month_open_items, month_total_spend
from apps.closing.models import MonthClose, MonthReopening
from apps.closing.selectors import month_status
from apps.closing.services import MonthAlreadyClosed, MonthNotReady, month_close_reviewed, month_reopen
from apps.usage.models import ClosedMonth
from tests.factories import AnomalyFactory
from tests.rollups.events import event, ingest, refresh_dirty_days

pytestmark = pytest.mark.django_db


def _today():
    return timezone.now().date()


@pytest.fixture
def everything_open(bills, api_key):
    """The closed-to-be month with one of each open item: an unpriced event, a provider (openai)
    without a bill, an unmapped scope, an unacknowledged reconciliation anomaly, unallocated spend."""
    day = bills.closed_day
    # The bill has ghost-team's $3.00 call too: the month balances, so its total is what events recorded.
    BillingLine.objects.create(
        source=BillingLine.Source.FOCUS, provider="anthropic", day=day, billed_cost=3, effective_cost=3
    )
    ingest(
        api_key,
        event(day=day, team="search", model="mystery-model"),
        event(day=day, team="ghost-team", input_tokens=1_000_000, output_tokens=0),
        event(day=day, team="search", provider="openai", model="test-model"),
    )
    refresh_dirty_days()
    # A workspace no mapping names (the day is not rebuilt after, so its bill stays out of the totals).
    BillingLine.objects.create(
        source=BillingLine.Source.FOCUS,
        provider="anthropic",
        day=day,
        scope="wrk_ghost",
        billed_cost=Decimal("2.5"),
        effective_cost=Decimal("2.5"),
    )
    AnomalyFactory(dimension=Anomaly.Dimension.RECONCILIATION, subject="anthropic", team=None, day=day)
    return bills


def test_a_billed_month_with_nothing_open_is_ready(bills):
    assert month_open_items(bills.closed) == []


def test_each_open_item_is_listed_with_what_it_is(everything_open):
    items = month_open_items(everything_open.closed)

    assert [str(item) for item in items] == [
        "Unpriced events: 2 event(s) rated $0.00: mystery-model (1), test-model (1)",
        "Providers without a bill: no bill pulled or imported for openai ($0.00 recorded)",
        "Unmapped scopes: billed to no team: anthropic wrk_ghost ($2.50 billed)",
        f"Open reconciliation anomalies: 1 not acknowledged: anthropic on {everything_open.closed_day:%-d %b}",
        "Unallocated spend: $3.00 belongs to no team and no rule shares it",
    ]


def test_open_items_stop_the_close_and_leave_the_month_open(everything_open, finance):
    with pytest.raises(MonthNotReady) as refused:
        month_close_reviewed(month=everything_open.closed, by=finance, today=_today(), via="page")

    assert [item.kind for item in refused.value.items] == [
        "unpriced",
        "no_bill",
        "unmapped_scopes",
        "reconciliation_anomalies",
        "unallocated",
    ]
    assert not ClosedMonth.objects.exists()
    assert not MonthClose.objects.exists()


def test_force_needs_a_reason(everything_open, finance):
    with pytest.raises(ValidationError, match="Give the reason the month closes with open items"):
        month_close_reviewed(month=everything_open.closed, by=finance, today=_today(), via="page", force=True)

    assert not ClosedMonth.objects.exists()


def test_a_forced_close_records_who_the_items_the_reason_and_the_total(everything_open, finance):
    close = month_close_reviewed(
        month=everything_open.closed, by=finance, today=_today(), via="page", force=True, reason="  Signed off  "
    )

    assert (close.closed_by, close.forced, close.reason, close.via) == (finance, True, "Signed off", "page")
    assert (
        close.open_items.splitlines()[0] == "Unpriced events: 2 event(s) rated $0.00: mystery-model (1), test-model (1)"
    )
    assert len(close.open_items.splitlines()) == 5
    # search's $0.0045 (ledger) + $0 unpriced + ghost-team's $3.00 + openai's unpriced $0
    assert close.total == month_total_spend(everything_open.closed) == Decimal("3.004500000")


def test_a_clear_close_is_not_forced_even_when_force_is_asked(bills, finance):
    close = month_close_reviewed(
        month=bills.closed, by=finance, today=_today(), via="page", force=True, reason="just in case"
    )

    assert (close.forced, close.reason, close.open_items) == (False, "", "")


def test_closing_a_closed_month_says_who_closed_it_and_when(bills, finance):
    first = month_close_reviewed(month=bills.closed, by=finance, today=_today(), via="page")

    with pytest.raises(MonthAlreadyClosed) as again:
        month_close_reviewed(month=bills.closed, today=_today(), via="command")

    assert again.value.messages == [
        f"{bills.closed:%Y-%m} is already closed by finance on {first.closed_at:%Y-%m-%d %H:%M} UTC."
    ]
    assert MonthClose.objects.count() == 1


def test_the_status_names_who_closed_the_month_when_and_at_what_total(bills, finance):
    assert month_status(bills.closed).is_closed is False
    close = month_close_reviewed(month=bills.closed, by=finance, today=_today(), via="page")

    status = month_status(bills.closed)

    assert (status.is_closed, status.closed_by, status.closed_at, status.total, status.forced) == (
        True,
        "finance",
        close.closed_at,
        Decimal("0.004500000"),
        False,
    )


def test_reopening_by_hand_needs_a_reason_and_is_recorded(bills, finance):
    month_close_reviewed(month=bills.closed, by=finance, today=_today(), via="page")

    with pytest.raises(ValidationError, match="Give the reason the month is reopened"):
        month_reopen(month=bills.closed, by=finance, reason=" ")
    reopening = month_reopen(month=bills.closed, by=finance, reason="Credit note from anthropic")

    assert not ClosedMonth.objects.exists()
    assert (reopening.reopened_by, reopening.reason, reopening.change, reopening.billed_before) == (
        finance,
        "Credit note from anthropic",
        "reopened by hand",
        Decimal("0.004500000"),
    )
    assert month_status(bills.closed).reopened_reason == "Credit note from anthropic"
    assert MonthReopening.objects.count() == 1


def test_an_open_month_cannot_be_reopened(bills, finance):
    with pytest.raises(ValidationError, match=f"{bills.closed:%Y-%m} is not closed: there is nothing to reopen."):
        month_reopen(month=bills.closed, by=finance, reason="Oops")
