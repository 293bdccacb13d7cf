"""Closing and reopening months: refresh their days and freeze them, reopen them on record, and
close the months due by the auto-close setting."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.allocation.services import day_allocate, day_refresh, days_in_range
from apps.usage.archive import archive_due, month_archive
from apps.usage.models import ArchivedMonth, ClosedMonth, DirtyMark
from apps.usage.selectors import next_month
from apps.usage.services import month_close_record
from apps.usage.services.closing import close_lock

from .checklist import OpenItem, month_open_items, month_total_spend
from .models import CloseSettings, MonthClose, MonthReopening
from .selectors import month_totals, months_due

logger = logging.getLogger(__name__)


class MonthAlreadyClosed(ValidationError):
    """Closing a closed month: the first close stands, and the message says who closed it when."""


class MonthNotReady(ValidationError):
    """The month has open checklist items and the close was not forced past them."""

    def __init__(self, month: date, items: list[OpenItem]):
        self.items = items
        listed = "; ".join(str(item) for item in items)
        super().__init__(f"{month:%Y-%m} has open items: {listed}. Resolve them, or force the close with a reason.")


@transaction.atomic
def month_close(*, month: date, by=None, today: date) -> ClosedMonth:
    """Close a month that has ended: bring its rollups and allocations up to date, then freeze them.

    Closing a reopened month again records its new totals on the open reopenings. Late events
    wait on `close_lock` meanwhile, and are booked in the next open month once it is closed."""
    month = month.replace(day=1)
    last_day = next_month(month) - timedelta(days=1)
    if last_day >= today:
        raise ValidationError(f"{month:%Y-%m} has not ended yet: a month closes once it is over.")
    close_lock(shared=False)
    already = ClosedMonth.objects.filter(month=month).first()
    if already:  # closed twice: the first close stands, with its time and who did it
        return already
    dirty = set(DirtyMark.objects.filter(day__gte=month, day__lte=last_day).values_list("day", flat=True))
    for day in days_in_range(month, last_day):
        # Every day is split again too: fixed monthly amounts accrue on days without events.
        if day in dirty:
            day_refresh(day=day)
        else:
            day_allocate(day=day)
    closed = month_close_record(month=month, by=by)
    totals = month_totals(month)
    MonthReopening.objects.filter(month=month, reclosed_at__isnull=True).update(
        billed_after=totals.billed, allocated_after=totals.allocated, reclosed_at=closed.closed_at
    )
    return closed


@transaction.atomic
def months_reopen(*, months: Iterable[date], by, reason: str, change: str) -> list[date]:
    """Reopen the closed months among `months` so a change can re-derive them, each recorded with
    who, why, the change and the totals it was frozen at; return those reopened."""
    closed = sorted(ClosedMonth.objects.filter(month__in=list(months)).values_list("month", flat=True))
    archived = ArchivedMonth.objects.filter(month__in=closed).order_by("month").first()
    if archived is not None:  # its events are in a file: re-deriving it would read none
        raise ValidationError(
            f"{archived.month:%Y-%m} is archived: restore its events first "
            f"(manage.py restore_events {archived.location}), then rewrite it."
        )
    reopenings = []
    for month in closed:
        totals = month_totals(month)  # still frozen
        reopenings.append(
            MonthReopening(
                month=month,
                reopened_by=by,
                reason=reason[:300],
                change=change[:300],
                billed_before=totals.billed,
                allocated_before=totals.allocated,
            )
        )
    MonthReopening.objects.bulk_create(reopenings)
    ClosedMonth.objects.filter(month__in=closed).delete()
    return closed


def closed_message(month: date) -> str:
    closed = ClosedMonth.objects.select_related("closed_by").get(month=month)
    who = f" by {closed.closed_by}" if closed.closed_by else ""
    return f"{month:%Y-%m} is already closed{who} on {closed.closed_at:%Y-%m-%d %H:%M} UTC."


@transaction.atomic
def month_close_reviewed(
    *, month: date, by=None, today: date, via: str, force: bool = False, reason: str = ""
) -> MonthClose:
    """Close a month through its checklist, on record: what the page, the command, the admin and
    auto-close call. Open items stop the close unless `force`, which needs a reason and records the
    items it went past. Raises MonthAlreadyClosed, MonthNotReady or ValidationError (not ended)."""
    month = month.replace(day=1)
    if force and not reason.strip():
        raise ValidationError({"reason": "Give the reason the month closes with open items."})
    close_lock(shared=False)  # taken again by month_close; held once the first time
    if ClosedMonth.objects.filter(month=month).exists():
        raise MonthAlreadyClosed(closed_message(month))
    if next_month(month) - timedelta(days=1) >= today:
        raise ValidationError(f"{month:%Y-%m} has not ended yet: a month closes once it is over.")
    closed = month_close(month=month, by=by, today=today)  # its days refreshed: the checklist sees them
    items = month_open_items(month)
    if items and not force:
        raise MonthNotReady(month, items)  # the atomic block rolls the close back
    return MonthClose.objects.create(
        month=month,
        closed_at=closed.closed_at,
        closed_by=by,
        via=via,
        total=month_total_spend(month),
        forced=bool(items),
        open_items="\n".join(str(item) for item in items),
        reason=reason.strip()[:300] if items else "",
    )


@transaction.atomic
def month_reopen(*, month: date, by, reason: str) -> MonthReopening:
    """Reopen a closed month by hand, on record with who and why (its totals before are kept)."""
    month = month.replace(day=1)
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason the month is reopened."})
    if not months_reopen(months=[month], by=by, reason=reason.strip(), change="reopened by hand"):
        raise ValidationError(f"{month:%Y-%m} is not closed: there is nothing to reopen.")
    return MonthReopening.objects.filter(month=month).latest("reopened_at")


def months_auto_close(*, today: date) -> list[date]:
    """Close every month due under the auto-close setting whose checklist is clear, oldest first;
    return those closed. A month with open items stays open for finance to resolve or force."""
    closed = []
    for month in months_due(today=today):
        try:
            month_close_reviewed(month=month, today=today, via=MonthClose.Via.AUTO)
        except MonthNotReady as exc:
            logger.warning("Not closing %s automatically: %s", f"{month:%Y-%m}", exc.messages[0])
            continue
        closed.append(month)
    return closed


def today_utc() -> date:
    return timezone.now().date()


def months_auto_archive(*, today: date) -> list[date]:
    """Archive the closed months older than the admin's setting, oldest first (none while it is blank)."""
    after = CloseSettings.objects.values_list("archive_after_months", flat=True).first()
    if after is None:
        return []
    due = archive_due(today=today, after_months=after)
    for month in due:
        month_archive(month=month)
    return due
