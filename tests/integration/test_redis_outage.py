"""Redis killed and restarted in the middle of traffic: every call answered 2xx is stored once.

A Redis of the test's own holds the gateway's event list and is the cache of the gateway and of
the web server. The test SIGKILLs it while gateway calls (plain and streamed), events-API and
OTLP posts go on, starts it again, and counts the stored events in PostgreSQL by event_id.
"""

from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest

from apps.gateway.services import EVENTS_LIST
from tests.factories import ApiKeyFactory, EventPayloadFactory

from .processes import GatewayProcess
from .traffic import Traffic, event_posts, gateway_calls, stored_counts
from .web_server import WebServer

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def servers(tmp_path, redis_server, provider, team):
    """The key exists before the servers start, so their first snapshots hold it."""
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})
    shared = {"REDIS_URL": redis_server.url, "CACHE_URL": redis_server.url, "REDIS_OUTAGE_RETRY_SECONDS": "1"}
    gateway = GatewayProcess(
        log=tmp_path / "gateway.log",
        env={
            **shared,
            "GATEWAY_REDIS_URL": redis_server.url,
            "GATEWAY_DRAIN_INTERVAL_SECONDS": "0.2",
            "GATEWAY_OPENAI_UPSTREAM": provider.url,
        },
    )
    web = WebServer(workers=2, log=tmp_path / "web.log", extra_env=shared)
    try:
        web.wait_ready()
        yield key, gateway, web
    finally:
        web.stop()
        gateway.stop()


def _wait_until_drained(redis_server, event_ids: set[str], timeout: float = 30) -> None:
    client = redis_server.client()
    deadline = time.monotonic() + timeout
    while client.llen(EVENTS_LIST) or set(stored_counts(event_ids)) != event_ids:
        if time.monotonic() > deadline:
            missing = event_ids - set(stored_counts(event_ids))
            pytest.fail(f"{len(missing)} answered calls not stored; {client.llen(EVENTS_LIST)} still in Redis")
        time.sleep(0.2)
    client.close()


def test_every_call_answered_across_a_redis_kill_and_restart_is_stored_once(servers, redis_server):
    key, gateway, web = servers
    traffic = Traffic()
    traffic.run(gateway_calls(gateway.url, key.raw_key), threads=2)
    traffic.run(event_posts(web.url, key.raw_key))
    time.sleep(2)

    killed_at = time.monotonic()
    redis_server.kill()
    time.sleep(4)
    restarted_at = time.monotonic()
    redis_server.start()
    time.sleep(3)
    traffic.stop()

    assert traffic.failed == [], "no call may fail while the database is up"
    for door in ("gateway", "events", "otlp"):
        assert traffic.answered_between(door, killed_at + 0.5, restarted_at) >= 3, (
            f"{door} was not served in the outage"
        )
        assert traffic.answered_between(door, restarted_at + 1, time.monotonic()) >= 1, f"{door} after the restart"
    answered = traffic.answered_ids()
    assert len(answered) == len(traffic.answered), "every answered call has an event_id of its own"
    _wait_until_drained(redis_server, answered)
    counts = stored_counts(answered)
    assert set(counts) == answered
    assert set(counts.values()) == {1}


def test_a_hung_redis_delays_calls_by_its_socket_timeout_at_most_and_loses_none(servers, redis_server):
    key, gateway, web = servers
    client = openai.OpenAI(base_url=f"{gateway.url}/gateway/openai/v1", api_key=key.raw_key, max_retries=0)
    events = httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {key.raw_key}"}, timeout=30)
    redis_server.pause()
    answered, slowest = set(), 0.0
    try:
        for _ in range(5):
            started = time.monotonic()
            answered.add(
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]).id
            )
            event = EventPayloadFactory(event_id=f"hung-{uuid.uuid4().hex}")
            assert events.post("/api/v1/events", json={"events": [event]}).status_code == 202
            answered.add(event["event_id"])
            slowest = max(slowest, time.monotonic() - started)
    finally:
        redis_server.resume()  # what it was sent while hung now lands too: stored nothing twice

    assert slowest < 3  # a 0.5 s socket timeout per Redis client, then the database
    _wait_until_drained(redis_server, answered)
    assert set(stored_counts(answered).values()) == {1}
