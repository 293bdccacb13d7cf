"""Celery tasks: the daily savings run and the weekly digest."""

from __future__ import annotations

from celery import shared_task

from .services import opportunities_refresh, savings_digest_send


@shared_task(name="insights.find_savings")
def find_savings() -> int:
    return len(opportunities_refresh())


@shared_task(name="insights.send_savings_digest")
def send_savings_digest() -> int:
    return savings_digest_send()
