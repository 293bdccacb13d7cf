"""`manage.py close_month YYYY-MM`: refresh a month that has ended, then freeze it."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.closing.services import month_close
from apps.rollups.services import dirty_days
from apps.usage.models import ClosedMonth, UsageEvent
from tests.rollups.events import event, ingest

from .conftest import billed

pytestmark = pytest.mark.django_db


def test_it_closes_the_month_and_prints_its_frozen_totals(ledger):
    out = StringIO()

    call_command("close_month", f"{ledger.closed:%Y-%m}", stdout=out)

    assert list(ClosedMonth.objects.values_list("month", flat=True)) == [ledger.closed]
    assert out.getvalue().strip() == (f"Closed {ledger.closed:%Y-%m}: billed $0.0045, allocated shared costs $0.00.")


def test_it_rolls_up_the_months_dirty_days_before_freezing_them(api_key, price, team, months):
    ingest(api_key, event(day=months.closed_day, team="search"), event(day=months.closed_day, team="search"))

    call_command("close_month", f"{months.closed:%Y-%m}", stdout=StringIO())

    assert billed(months.closed) == Decimal("0.009000000")
    assert dirty_days() == []


def test_closing_a_closed_month_again_changes_nothing(closed_ledger):
    UsageEvent.objects.filter(day=closed_ledger.closed_day).update(billed_cost=Decimal("1"))  # drift, if rebuilt

    call_command("close_month", f"{closed_ledger.closed:%Y-%m}", stdout=StringIO())

    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    assert ClosedMonth.objects.count() == 1


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
