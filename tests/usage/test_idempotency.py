"""Idempotency on (API key, event_id): a resent event is counted as a duplicate, never stored twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EventPayloadFactory

pytestmark = pytest.mark.django_db


def test_an_event_resent_in_a_later_request_is_a_duplicate(send, price):
    event = EventPayloadFactory(event_id="req_01")
    send(event)
    assert send(event) == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert UsageEvent.objects.count() == 1


def test_a_resend_keeps_the_first_copy(send, price):
    send(EventPayloadFactory(event_id="req_01", output_tokens=100))
    send(EventPayloadFactory(event_id="req_01", output_tokens=999))
    event = UsageEvent.objects.get()
    assert (event.output_tokens, event.billed_cost) == (100, Decimal("0.004500000"))


def test_a_repeat_within_one_batch_is_counted_as_a_duplicate(send, price):
    event = EventPayloadFactory(event_id="req_01")
    assert send(event, event) == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert UsageEvent.objects.count() == 1


def test_the_first_copy_within_a_batch_wins(send, price):
    send(
        EventPayloadFactory(event_id="req_01", output_tokens=100),
        EventPayloadFactory(event_id="req_01", output_tokens=999),
    )
    assert UsageEvent.objects.get().output_tokens == 100


def test_a_batch_counts_new_and_resent_events_apart(send, price):
    first, second = EventPayloadFactory(), EventPayloadFactory()
    send(first)
    assert send(first, second) == {"accepted": 1, "duplicates": 1, "rejected": []}


def test_the_same_event_id_from_another_api_key_is_another_event(send, team, price):
    other_key = ApiKeyFactory(team=team, name="search-batch-jobs")
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key.raw_key}")
    event = EventPayloadFactory(event_id="req_01")
    send(event)
    assert send(event, client=other_client) == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert sorted(UsageEvent.objects.values_list("api_key__name", flat=True)) == ["search-batch-jobs", "search-service"]
