"""Idempotency on (API key, event_id): a resent event is counted as a duplicate, never stored twice."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EventPayloadFactory

pytestmark = pytest.mark.django_db


def test_an_event_resent_in_a_later_request_is_a_duplicate(send, price):
    event = EventPayloadFactory(event_id="req_01")
    send(event)
    assert send(event) == {"accepted": 0, "duplicates": 1, "rejected": [], "conflicts": []}
    assert UsageEvent.objects.count() == 1


def test_a_resend_with_another_payload_is_a_conflict_and_keeps_the_first_copy(send, price):
    first = EventPayloadFactory(event_id="req_01", output_tokens=100)
    send(first)
    body = send({**first, "output_tokens": 999})
    assert body == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
        "conflicts": [{"index": 0, "event_id": "req_01", "fields": ["output_tokens"]}],
    }
    event = UsageEvent.objects.get()
    assert (event.output_tokens, event.billed_cost) == (100, Decimal("0.004500000"))


def test_a_repeat_within_one_batch_is_counted_as_a_duplicate(send, price):
    event = EventPayloadFactory(event_id="req_01")
    assert send(event, event) == {"accepted": 1, "duplicates": 1, "rejected": [], "conflicts": []}
    assert UsageEvent.objects.count() == 1


def test_the_first_copy_within_a_batch_wins_and_the_other_is_a_conflict(send, price):
    first = EventPayloadFactory(event_id="req_01", output_tokens=100)
    body = send(first, {**first, "output_tokens": 999})
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    assert body["conflicts"] == [{"index": 1, "event_id": "req_01", "fields": ["output_tokens"]}]
    assert UsageEvent.objects.get().output_tokens == 100


def test_a_conflict_names_every_differing_field_and_tag(send, price):
    first = EventPayloadFactory(event_id="req_01", team="search", model="test-model", attributes={"a": "1"})
    send(first)
    body = send(
        {**first, "team": "billing", "model": "other-model", "attributes": {"a": "2"}},
        EventPayloadFactory(event_id="req_02"),
    )
    assert body["accepted"] == 1
    assert body["conflicts"] == [{"index": 0, "event_id": "req_01", "fields": ["model", "attributes", "team"]}]


def test_a_resend_is_compared_with_the_tags_as_first_sent_not_as_stored(send, client_for, price):
    """Stored, "Search" became "search" and the key's default added an environment: a resend with
    "Search" and no environment is the same payload; one sending "search" is not."""
    client = client_for(default_tags={"environment": "staging"})
    first = EventPayloadFactory(event_id="req_01", team="Search")
    send(first, client=client)

    assert send(first, client=client)["duplicates"] == 1
    assert send({**first, "team": "search"}, client=client)["conflicts"] == [
        {"index": 0, "event_id": "req_01", "fields": ["team"]}
    ]
    assert send({**first, "environment": "staging"}, client=client)["conflicts"] == [
        {"index": 0, "event_id": "req_01", "fields": ["environment"]}
    ]


def test_the_same_instant_written_with_another_offset_is_the_same_payload(send, price):
    event = EventPayloadFactory(event_id="req_01")
    send(event)
    moment = datetime.fromisoformat(event["timestamp"]).astimezone(timezone.get_fixed_timezone(330))
    assert send({**event, "timestamp": moment.isoformat()})["duplicates"] == 1


def test_a_batch_counts_new_and_resent_events_apart(send, price):
    first, second = EventPayloadFactory(), EventPayloadFactory()
    send(first)
    assert send(first, second) == {"accepted": 1, "duplicates": 1, "rejected": [], "conflicts": []}


def test_the_same_event_id_from_another_api_key_is_another_event(send, team, price):
    other_key = ApiKeyFactory(team=team, name="search-batch-jobs")
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key.raw_key}")
    event = EventPayloadFactory(event_id="req_01")
    send(event)
    assert send(event, client=other_client) == {"accepted": 1, "duplicates": 0, "rejected": [], "conflicts": []}
    assert sorted(UsageEvent.objects.values_list("api_key__name", flat=True)) == ["search-batch-jobs", "search-service"]
