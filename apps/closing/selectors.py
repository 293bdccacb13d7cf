"""Reads of month close: a month's totals, and which months are due to close themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Min, Q, Sum

from apps.allocation.models import AllocationResult
from apps.rollups.models import DailyRollup
from apps.usage.models import ClosedMonth, UsageEvent
from apps.usage.selectors import next_month

from .checklist import month_total_spend
from .models import CloseSettings, MonthClose, MonthReopening


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


@dataclass(frozen=True)
class MonthStatus:
    """What every page says about its month: open, or closed by whom, when and at what total."""

    month: date
    closed_at: datetime | None = None
    closed_by: str = ""
    total: Decimal | None = None
    forced: bool = False
    reopened_reason: str = ""  # an open month reopened by hand or by a change: the last reason

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


def month_status(month: date) -> MonthStatus:
    month = month.replace(day=1)
    closed = ClosedMonth.objects.select_related("closed_by").filter(month=month).first()
    if closed is None:
        reopening = MonthReopening.objects.filter(month=month, reclosed_at__isnull=True).first()
        return MonthStatus(month=month, reopened_reason=reopening.reason if reopening else "")
    record = MonthClose.objects.filter(month=month, closed_at=closed.closed_at).first()
    return MonthStatus(
        month=month,
        closed_at=closed.closed_at,
        closed_by=str(closed.closed_by) if closed.closed_by else "automatically",
        # Closed before closes were recorded: its figures are frozen, so today's total is the one.
        total=record.total if record else month_total_spend(month),
        forced=bool(record and record.forced),
    )


def rerate_months(*, provider: str, model: str, start: datetime) -> tuple[list[date], list[date]]:
    """The months with the model's spend from `start` (every model of the provider for ""): those a
    re-rating changes (open), and those it leaves unless closed months are rewritten (closed)."""
    rows = DailyRollup.objects.filter(provider=provider, day__gte=start.date())
    if model:
        rows = rows.filter(Q(model=model) | Q(model_family=model))
    months = sorted(rows.dates("day", "month"))
    closed = set(ClosedMonth.objects.filter(month__in=months).values_list("month", flat=True))
    return [m for m in months if m not in closed], [m for m in months if m in closed]
