"""A gateway process killed (SIGKILL) right after answering loses no call: the event waits in Redis."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import openai
import orjson
import pytest
import redis
from django.conf import settings

from apps.gateway.services import EVENTS_LIST, gateway_events_drain
from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, ModelPriceFactory
from tests.gateway.server import free_port

from .web_server import CLEARED, database_url

# serialized_rollback: keeps migration 0002's environments and tag policy for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(EVENTS_LIST)
    yield client
    client.delete(EVENTS_LIST)
    client.close()


@pytest.fixture
def gateway_process(provider, redis_client, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(
        DATABASE_URL=database_url(),
        GATEWAY_REDIS_URL=settings.CELERY_BROKER_URL,
        # Shared with this test process, so a key made here reaches the gateway's snapshot.
        CACHE_URL=settings.CACHES["default"]["LOCATION"],
        # The process never drains on its own here, so the event can only survive in Redis.
        GATEWAY_DRAIN_INTERVAL_SECONDS="3600",
        GATEWAY_OPENAI_UPSTREAM=provider.url,
        GATEWAY_OPENAI_API_KEY="sk-provider",
        CELERY_TASK_ALWAYS_EAGER="1",
        LOG_LEVEL="WARNING",
    )
    log = (tmp_path / "gateway.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "attribution_site.asgi:application", f"--port={port}", "--lifespan=on"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail((tmp_path / "gateway.log").read_text())
        time.sleep(0.1)
    yield process, f"http://127.0.0.1:{port}"
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_a_sigkilled_gateway_loses_no_call_whose_response_was_received(gateway_process, redis_client, team):
    process, url = gateway_process
    ModelPriceFactory(
        provider="openai",
        model="gpt-4o-2024-08-06",
        input_per_mtok=Decimal("2.50"),
        output_per_mtok=Decimal("10"),
        cache_read_per_mtok=Decimal("1.25"),
    )
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})
    client = openai.OpenAI(base_url=f"{url}/gateway/openai/v1", api_key=key.raw_key, max_retries=0)

    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True)
    streamed_id = [chunk.id for chunk in stream][-1]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    assert redis_client.llen(EVENTS_LIST) == 2
    assert not UsageEvent.objects.exists()
    assert gateway_events_drain(client=redis_client) == 2
    events = {e.event_id: e for e in UsageEvent.objects.all()}
    assert set(events) == {completion.id, streamed_id}
    assert [e.billed_cost for e in events.values()] == [Decimal("0.005750000")] * 2
    assert {e.source for e in events.values()} == {"gateway"}


def test_a_second_drain_of_the_same_entries_stores_nothing_twice(gateway_process, redis_client, team):
    _, url = gateway_process
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})
    client = openai.OpenAI(base_url=f"{url}/gateway/openai/v1", api_key=key.raw_key, max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    entry = redis_client.lrange(EVENTS_LIST, 0, -1)[0]

    assert gateway_events_drain(client=redis_client) == 1
    redis_client.rpush(EVENTS_LIST, entry)  # as if a drainer died after ingesting, before trimming
    assert gateway_events_drain(client=redis_client) == 0
    assert UsageEvent.objects.filter(event_id=orjson.loads(entry)["event"]["event_id"]).count() == 1
    assert redis_client.llen(EVENTS_LIST) == 0


def test_the_beat_task_drains_recorded_calls_in_a_real_worker(celery_worker_process, redis_client, team):
    from apps.gateway.tasks import drain_events
    from apps.usage.keys import api_key_lookup

    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"})
    event = {
        "event_id": "chatcmpl-from-redis",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 10,
        "output_tokens": 5,
    }
    redis_client.rpush(EVENTS_LIST, orjson.dumps({"key_id": api_key_lookup(key.raw_key).id, "event": event}))

    drain_events.delay()

    deadline = time.monotonic() + 30
    while not UsageEvent.objects.filter(event_id="chatcmpl-from-redis").exists():
        assert time.monotonic() < deadline, "the worker did not drain the event"
        time.sleep(0.2)
    assert UsageEvent.objects.get(event_id="chatcmpl-from-redis").source == "gateway"
    assert redis_client.llen(EVENTS_LIST) == 0
