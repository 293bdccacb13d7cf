"""Reads of month close: a month's totals, and which months are due to close themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Min, Sum

from apps.allocation.models import AllocationResult
from apps.rollups.models import DailyRollup
from apps.usage.models import ClosedMonth, UsageEvent
from apps.usage.selectors import next_month

from .models import CloseSettings


@dataclass(frozen=True)
class MonthTotals:
    billed: Decimal
    allocated: Decimal


def month_totals(month: date) -> MonthTotals:
    """What the pages show for the month: billed cost of its rollups (late events of closed months
    booked in it included) and the shared costs allocated on its days."""
    days = {"day__gte": month, "day__lt": next_month(month)}
    billed = DailyRollup.objects.filter(**days).aggregate(s=Sum("billed_cost"))["s"]
    allocated = AllocationResult.objects.filter(**days).aggregate(s=Sum("amount"))["s"]
    return MonthTotals(billed=billed or Decimal("0E-9"), allocated=allocated or Decimal("0E-9"))


def auto_close_after_days() -> int | None:
    row = CloseSettings.objects.first()
    return row.auto_close_after_days if row else None


def months_due(*, today: date) -> list[date]:
    """Open months, from the first with events, that ended at least the set number of days ago."""
    days = auto_close_after_days()
    first_day = UsageEvent.objects.aggregate(first=Min("day"))["first"]
    if days is None or first_day is None:
        return []
    closed = set(ClosedMonth.objects.values_list("month", flat=True))
    due, month = [], first_day.replace(day=1)
    while next_month(month) - timedelta(days=1) + timedelta(days=days) < today:
        if month not in closed:
            due.append(month)
        month = next_month(month)
    return due
