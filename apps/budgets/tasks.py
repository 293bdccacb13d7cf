"""Celery tasks: the spend check (beat) and alert delivery with retries and backoff."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .models import Delivery
from .services import DeliveryFailed, delivery_send, spend_check


@shared_task(name="budgets.check_spend")
def check_spend() -> int:
    return len(spend_check())


@shared_task(name="budgets.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> str:
    """One delivery per task, so a slow or failing receiver holds up nothing else."""
    delivery = Delivery.objects.select_related("alert").get(pk=delivery_id)
    if delivery.status != Delivery.Status.PENDING:
        return delivery.status  # sent, or given up on: a repeated task sends nothing twice
    try:
        delivery_send(delivery=delivery)
    except DeliveryFailed as exc:
        if delivery.attempts >= settings.ALERT_DELIVERY_ATTEMPTS:
            Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED)
            return Delivery.Status.FAILED
        if self.request.is_eager:
            return delivery.status  # no worker to retry later; the next spend check does not resend
        raise self.retry(
            exc=exc, countdown=settings.ALERT_RETRY_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
        ) from exc
    return Delivery.Status.SENT
