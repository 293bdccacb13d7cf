"""Celery tasks: the spend check (beat) and alert delivery with retries and backoff."""

from __future__ import annotations

from celery import shared_task

from .models import Delivery
from .services import DeliveryFailed, delivery_send, retry_delay, spend_check


@shared_task(name="budgets.check_spend")
def check_spend() -> int:
    return len(spend_check())


@shared_task(name="budgets.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> str:
    """One delivery per task, so a slow or failing receiver holds up nothing else."""
    try:
        return delivery_send(delivery_id=delivery_id)
    except DeliveryFailed as exc:
        if self.request.is_eager:
            return Delivery.Status.PENDING  # no worker to retry later: the next spend check resends it
        raise self.retry(exc=exc, countdown=retry_delay(exc.attempts).total_seconds()) from exc
