"""`manage.py close_month YYYY-MM`: refresh a month that has ended, then freeze it."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.closing.models import MonthClose
from apps.closing.services import month_close
from apps.rollups.services import dirty_days
from apps.usage.models import ClosedMonth, UsageEvent
from tests.rollups.events import event, ingest

from .conftest import billed

pytestmark = pytest.mark.django_db


def test_it_closes_the_month_and_prints_its_frozen_totals(bills):
    ledger = bills
    out = StringIO()

    call_command("close_month", f"{ledger.closed:%Y-%m}", stdout=out)

    assert list(ClosedMonth.objects.values_list("month", flat=True)) == [ledger.closed]
    assert out.getvalue().strip() == (f"Closed {ledger.closed:%Y-%m}: billed $0.0045, allocated shared costs $0.00.")


def test_it_rolls_up_the_months_dirty_days_before_freezing_them(api_key, price, team, months):
    ingest(api_key, event(day=months.closed_day, team="search"), event(day=months.closed_day, team="search"))

    call_command("close_month", f"{months.closed:%Y-%m}", "--force", "--reason", "No bill", stdout=StringIO())

    assert billed(months.closed) == Decimal("0.009000000")
    assert dirty_days() == []


def test_closing_a_closed_month_again_says_so_and_changes_nothing(closed_ledger):
    UsageEvent.objects.filter(day=closed_ledger.closed_day).update(billed_cost=Decimal("1"))  # drift, if rebuilt
    out = StringIO()

    call_command("close_month", f"{closed_ledger.closed:%Y-%m}", stdout=out)

    closed = ClosedMonth.objects.get()
    assert out.getvalue().strip() == (
        f"{closed_ledger.closed:%Y-%m} is already closed on {closed.closed_at:%Y-%m-%d %H:%M} UTC. Nothing changed."
    )
    assert billed(closed_ledger.closed) == Decimal("0.004500000")


def test_open_items_stop_the_command_and_are_listed(ledger):
    with pytest.raises(CommandError) as refused:
        call_command("close_month", f"{ledger.closed:%Y-%m}")

    assert str(refused.value) == (
        f"{ledger.closed:%Y-%m} has open items:\n"
        "  - Providers without a bill: no bill pulled or imported for anthropic ($0.00 recorded)\n"
        "Resolve them, or close anyway with --force --reason '…'."
    )
    assert not ClosedMonth.objects.exists()


def test_force_needs_a_reason_and_is_recorded(ledger):
    with pytest.raises(CommandError, match="--reason: Give the reason the month closes with open items"):
        call_command("close_month", f"{ledger.closed:%Y-%m}", "--force")
    out = StringIO()

    call_command("close_month", f"{ledger.closed:%Y-%m}", "--force", "--reason", "Invoice is late", stdout=out)

    assert out.getvalue().splitlines()[-1] == "Forced past 1 open item(s), recorded: Invoice is late"
    record = MonthClose.objects.get()
    assert (record.via, record.forced, record.reason, record.total) == (
        "command",
        True,
        "Invoice is late",
        Decimal("0.004500000"),
    )


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("running", "has not ended yet"),
        ("2999-01", "has not begun yet"),
        ("2026-13", "'2026-13' is not a month: use YYYY-MM."),
        ("last month", "is not a month: use YYYY-MM"),
    ],
)
def test_it_refuses_a_month_that_cannot_close(db, month, message):
    if month == "running":
        month = f"{timezone.now().date():%Y-%m}"

    with pytest.raises(CommandError, match=message):
        call_command("close_month", month)

    assert not ClosedMonth.objects.exists()


def test_closing_a_closed_month_again_keeps_who_closed_it_and_when(closed_ledger, admin_user):
    first = ClosedMonth.objects.get()

    month_close(month=closed_ledger.closed, by=admin_user, today=timezone.now().date())

    again = ClosedMonth.objects.get()
    assert (again.closed_at, again.closed_by) == (first.closed_at, None)
