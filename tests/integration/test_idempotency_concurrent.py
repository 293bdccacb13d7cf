"""Idempotency under concurrency: overlapping batches sent at once through a threaded HTTP server."""

from __future__ import annotations

import json
import threading
import urllib.request
from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from apps.usage.models import UsageEvent
from tests.factories import EventPayloadFactory, ModelPriceFactory

# serialized_rollback: keeps migration 0002's environments and tag policy for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def post_json(url: str, api_key, payload) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {api_key.raw_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 202
        return json.loads(response.read())


def post_at_once(url: str, api_key, batches: list[list[dict]]) -> list[dict]:
    """POST each batch from its own thread, released together."""
    start = threading.Barrier(len(batches))
    results: list[dict | None] = [None] * len(batches)
    errors: list[BaseException] = []

    def send(i: int) -> None:
        start.wait()
        try:
            results[i] = post_json(url, api_key, {"events": batches[i]})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


@pytest.fixture
def events_url(live_server):
    ModelPriceFactory()  # $0.0045 for each EventPayloadFactory event
    return f"{live_server.url}/api/v1/events"


def test_overlapping_batches_store_each_event_exactly_once(events_url, api_key):
    events = [EventPayloadFactory(event_id=f"evt-{i:04d}") for i in range(450)]
    results = post_at_once(events_url, api_key, [events[:300], events[150:]])
    assert sum(r["accepted"] for r in results) == 450
    assert sum(r["duplicates"] for r in results) == 150
    assert not UsageEvent.objects.values("event_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"] == Decimal("2.025000000")


def test_identical_batches_sent_at_once_are_stored_once(events_url, api_key):
    events = [EventPayloadFactory() for _ in range(200)]
    results = post_at_once(events_url, api_key, [events, events, events])
    assert (sum(r["accepted"] for r in results), sum(r["duplicates"] for r in results)) == (200, 400)
    assert UsageEvent.objects.count() == 200
