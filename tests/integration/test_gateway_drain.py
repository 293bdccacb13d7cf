"""The drain's lock is owned: overlapping drainers drop nothing, a dead holder holds nothing back for long."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest
import redis
from django.conf import settings

from apps.gateway import services
from apps.gateway.services import DRAIN_LOCK, EVENTS_LIST, gateway_events_drain
from apps.usage.keys import api_key_lookup
from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EventPayloadFactory

# transaction: the drain closes a connection left in a transaction (close_old_connections), as a
# worker thread must; serialized_rollback keeps the seeded environments for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(EVENTS_LIST, DRAIN_LOCK)
    yield client
    client.delete(EVENTS_LIST, DRAIN_LOCK)
    client.close()


@pytest.fixture
def record(team, redis_client):
    """RPUSH calls as the gateway records them; returns their event_ids."""
    key_id = api_key_lookup(ApiKeyFactory(team=team).raw_key).id

    def record(count: int) -> list[str]:
        events = [EventPayloadFactory(event_id=f"drain-{uuid.uuid4().hex}") for _ in range(count)]
        redis_client.rpush(EVENTS_LIST, *(orjson.dumps({"key_id": key_id, "event": e}) for e in events))
        return [e["event_id"] for e in events]

    return record


def _stored(event_ids: list[str]) -> list[str]:
    return sorted(UsageEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))


def test_a_drainer_whose_lock_lapsed_mid_batch_trims_nothing_another_has_not_stored(redis_client, record, monkeypatch):
    first = record(3)
    appended: list[str] = []
    ingest = services.gateway_events_ingest

    def slow_ingest(*, calls):
        # While drainer A ingests its batch, its lock lapses; B drains the whole list, and then
        # more calls are recorded. Were A to trim its 3 now, it would drop those 3 unstored.
        stored = ingest(calls=calls)
        if not appended:
            redis_client.delete(DRAIN_LOCK)
            monkeypatch.setattr(services, "gateway_events_ingest", ingest)
            assert gateway_events_drain(client=redis_client, batch=3) == 0  # A's batch, again
            appended.extend(record(3))
        return stored

    monkeypatch.setattr(services, "gateway_events_ingest", slow_ingest)
    assert gateway_events_drain(client=redis_client, batch=3) == 3

    assert redis_client.llen(EVENTS_LIST) == 3  # A's trim was refused: the new calls wait
    assert gateway_events_drain(client=redis_client, batch=3) == 3
    assert _stored(first + appended) == sorted(first + appended)


def test_a_drainer_never_releases_a_lock_another_holds(redis_client, record, monkeypatch):
    record(2)
    ingest = services.gateway_events_ingest

    def lock_taken_over(*, calls):
        redis_client.set(DRAIN_LOCK, "another drainer", px=60_000)
        return ingest(calls=calls)

    monkeypatch.setattr(services, "gateway_events_ingest", lock_taken_over)
    gateway_events_drain(client=redis_client, batch=10)

    assert redis_client.get(DRAIN_LOCK) == b"another drainer"
    assert redis_client.llen(EVENTS_LIST) == 2  # not trimmed by a drainer that lost the lock


def test_entries_held_by_a_dead_drainer_are_drained_once_its_lock_lapses(redis_client, record):
    event_ids = record(4)
    # What a drainer SIGKILLed mid-batch leaves behind: its lock, with its own lifetime.
    redis_client.set(DRAIN_LOCK, "dead drainer", px=1500)

    assert gateway_events_drain(client=redis_client) == 0
    deadline = time.monotonic() + 5
    while not gateway_events_drain(client=redis_client):
        assert time.monotonic() < deadline, "the dead drainer's lock did not lapse"
        time.sleep(0.1)

    assert _stored(event_ids) == sorted(event_ids)
    assert redis_client.llen(EVENTS_LIST) == 0
    assert redis_client.get(DRAIN_LOCK) is None


def test_a_drainer_takes_the_lock_for_gateway_drain_lock_seconds(redis_client, record, monkeypatch, settings):
    settings.GATEWAY_DRAIN_LOCK_SECONDS = 3
    record(1)
    ttls: list[int] = []
    ingest = services.gateway_events_ingest

    def ingest_noting_the_lock(*, calls):
        ttls.append(redis_client.pttl(DRAIN_LOCK))
        return ingest(calls=calls)

    monkeypatch.setattr(services, "gateway_events_ingest", ingest_noting_the_lock)
    gateway_events_drain(client=redis_client)

    assert 2_000 < ttls[0] <= 3_000
