"""A bill for a closed month enters as an adjustment in the first open month, as late events do."""

from __future__ import annotations

from decimal import Decimal

from apps.billing.models import PROVIDER_ONLY, BillingLine
from apps.billing.services import days_mark_dirty
from apps.rollups.models import DailyRollup
from tests.rollups.events import refresh_dirty_days

from .conftest import billed


def _bill(day, amount: str) -> None:
    BillingLine.objects.filter(day=day).delete()  # a re-pull replaces the day's lines
    BillingLine.objects.create(
        source="api", provider="anthropic", day=day, scope="wrkspc", billed_cost=Decimal(amount),
        effective_cost=Decimal(amount),
    )  # fmt: skip
    days_mark_dirty(days={day})
    refresh_dirty_days()


def _adjustments(months) -> list[tuple]:
    rows = DailyRollup.objects.filter(model=PROVIDER_ONLY, adjusts_month=f"{months.closed:%Y-%m}")
    return list(rows.values_list("day", "team_id", "billed_cost"))


def test_a_bill_for_a_closed_month_is_booked_in_the_first_open_month_and_the_closed_one_stays(closed_ledger):
    months = closed_ledger
    before = billed(months.closed)

    _bill(months.closed_day, "0.0105")  # $0.0045 recorded: $0.006 only the provider reported

    assert billed(months.closed) == before == Decimal("0.004500000")
    assert _adjustments(months) == [(months.open, None, Decimal("0.006000000"))]
    assert billed(months.open) == Decimal("0.010500000")  # its own $0.0045 and the adjustment


def test_a_closed_months_bill_pulled_again_changes_only_its_adjustment(closed_ledger):
    months = closed_ledger
    _bill(months.closed_day, "0.0105")
    _bill(months.closed_day, "0.0065")

    assert _adjustments(months) == [(months.open, None, Decimal("0.002000000"))]
    assert billed(months.closed) == Decimal("0.004500000")


def test_a_bill_known_before_the_close_is_frozen_in_its_month_and_not_booked_again(ledger):
    from django.utils import timezone

    from apps.closing.services import month_close

    months = ledger
    _bill(months.closed_day, "0.0105")
    month_close(month=months.closed, today=timezone.now().date())
    days_mark_dirty(days={months.open})
    refresh_dirty_days()

    assert billed(months.closed) == Decimal("0.010500000")
    assert _adjustments(months) == []
