"""Celery tasks of the derivation pipeline: refresh dirty days (rollup, then allocation)."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from apps.rollups.services import dirty_days

from .services import day_allocate, days_in_range, dirty_day_refresh


@shared_task(name="allocation.refresh_day")
def refresh_day(day: str) -> bool:
    """Refresh a dirty day (rollups, then allocations); False when it was clean by then."""
    return dirty_day_refresh(day=date.fromisoformat(day))


@shared_task(name="allocation.refresh_dirty_days")
def refresh_dirty_days() -> int:
    """Beat: one refresh task per dirty day, so several workers share the backlog."""
    days = dirty_days()
    for day in days:
        refresh_day.delay(day.isoformat())
    return len(days)


@shared_task(name="allocation.allocate_days")
def allocate_days(start: str, end: str) -> int:
    """Re-apply the rules to a range of days (after a rule changed); rollups are left as they are."""
    days = days_in_range(date.fromisoformat(start), min(date.fromisoformat(end), timezone.now().date()))
    for day in days:
        day_allocate(day=day)
    return len(days)


@shared_task(name="allocation.allocate_recent_days")
def allocate_recent_days() -> int:
    """Beat, hourly: fixed monthly amounts accrue on days without events too, which no refresh
    touches, so the running month (and yesterday, on the 1st) is allocated again."""
    today = timezone.now().date()
    return allocate_days(str(min(today.replace(day=1), today - timedelta(days=1))), str(today))
