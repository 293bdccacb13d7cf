"""Celery task of month close: the daily auto-close."""

from __future__ import annotations

from celery import shared_task

from .services import months_auto_archive, months_auto_close, today_utc


@shared_task(name="closing.close_due_months")
def close_due_months() -> list[str]:
    """Beat, daily: close the months due under the admin's setting (none while it is blank)."""
    return [f"{month:%Y-%m}" for month in months_auto_close(today=today_utc())]


@shared_task(name="closing.archive_old_months")
def archive_old_months() -> list[str]:
    """Beat, daily: archive the closed months older than the admin's setting (none while it is blank)."""
    return [f"{month:%Y-%m}" for month in months_auto_archive(today=today_utc())]
