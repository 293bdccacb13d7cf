"""Reads are throttled per API key and per person; ingestion is not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from rest_framework.test import APIClient

from attribution_site.reads import ReadRateThrottle
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

COSTS = "/api/v1/costs?start=2026-11-01&end=2026-11-02"


@pytest.fixture
def read_rate(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"reads": "3/minute"}}
    # Counts of earlier tests (whose ids repeat) stay out: a cache of this test's own.
    monkeypatch.setattr(ReadRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


def _key_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    return client


def test_a_key_past_the_read_rate_gets_429_with_retry_after(read_rate, key_client):
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=UTC), tick=False) as clock:
        statuses = [key_client.get(COSTS).status_code for _ in range(4)]
        clock.shift(15)

        response = key_client.get(COSTS)
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert response["Retry-After"] == "45"  # the first of the three reads leaves the minute's window then
    assert "throttled" in response.json()["detail"]


def test_another_key_keeps_its_own_count(read_rate, key_client, team):
    for _ in range(3):
        key_client.get(COSTS)

    assert _key_client(ApiKeyFactory(team=team, name="other")).get(COSTS).status_code == 200


def test_a_person_past_the_read_rate_gets_429_on_costs_and_allocations(read_rate, lead):
    client = APIClient()
    client.force_authenticate(lead)
    statuses = [client.get(COSTS).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert client.get("/api/v1/allocations?month=2026-11").status_code == 429


def test_another_person_keeps_their_own_count(read_rate, lead, member):
    client = APIClient()
    client.force_authenticate(lead)
    for _ in range(3):
        client.get(COSTS)

    client.force_authenticate(member)
    assert client.get(COSTS).status_code == 200


def test_ingestion_is_not_throttled_by_reads(read_rate, key_client):
    for _ in range(3):
        key_client.get(COSTS)
    event = {
        "timestamp": timezone.now().isoformat(),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_tokens": 10,
        "output_tokens": 1,
    }

    statuses = [
        key_client.post("/api/v1/events", {**event, "event_id": uuid.uuid4().hex}, format="json").status_code
        for _ in range(5)
    ]

    assert statuses == [202] * 5
