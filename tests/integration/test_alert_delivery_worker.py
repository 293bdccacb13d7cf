"""Alert delivery on the real stack: the worker's retry with backoff after a failing receiver."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from apps.budgets.models import Alert, Delivery
from apps.budgets.services import alert_raise
from tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait_for(delivery: Delivery, *, status: str, seconds: float = 30) -> Delivery:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status == status:
            return delivery
        time.sleep(0.2)
    pytest.fail(f"delivery still {delivery.status} after {seconds} s: {delivery.last_error}")


def test_the_worker_retries_a_failed_webhook_after_its_backoff(celery_worker_process, receiver, team):
    flaky = receiver(503, 200)
    WebhookFactory(url=flaky.url)

    with transaction.atomic():  # deliveries are queued when the alert commits
        alert = alert_raise(
            kind=Alert.Kind.THRESHOLD, subject="team:search", period="2026-11@80%", team=team, message="80% used."
        )
    delivery = _wait_for(alert.deliveries.get(channel=Delivery.Channel.WEBHOOK), status=Delivery.Status.SENT)

    assert (delivery.attempts, len(flaky.requests)) == (2, 2)
    assert flaky.arrived[1] - flaky.arrived[0] >= 1  # the worker's backoff: 1 s after the first attempt
