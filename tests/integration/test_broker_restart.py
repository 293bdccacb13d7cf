"""Celery worker and beat outlive a restart of their broker (a Redis of the test's own, SIGKILLed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import orjson
import pytest
from celery import Celery
from django.conf import settings

from apps.gateway.services import EVENTS_LIST
from apps.usage.keys import api_key_lookup
from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EventPayloadFactory

from .web_server import CLEARED, database_url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def celery(tmp_path, redis_server):
    """Starts `celery -A attribution_site <args>` on the test's Redis, with docker-compose's flags."""
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=redis_server.url,
        REDIS_URL=redis_server.url,
        CELERY_TASK_ALWAYS_EAGER="0",
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    processes: list[tuple[subprocess.Popen, object]] = []

    def start(*args: str) -> subprocess.Popen:
        log = (tmp_path / f"{args[0]}.log").open("a")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "attribution_site", *args, "--loglevel=INFO"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append((process, log))
        return process

    start.queue = queue
    yield start
    for process, log in processes:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def record(team, redis_server):
    """RPUSH a call as the gateway records it, for `gateway.drain_events` to store; its event_id."""
    key_id = api_key_lookup(ApiKeyFactory(team=team).raw_key).id
    client = redis_server.client()

    def record() -> str:
        event = EventPayloadFactory(event_id=f"broker-{uuid.uuid4().hex}")
        client.rpush(EVENTS_LIST, orjson.dumps({"key_id": key_id, "event": event}))
        return event["event_id"]

    return record


def _wait_stored(event_id: str, *processes: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not UsageEvent.objects.filter(event_id=event_id).exists():
        assert all(p.poll() is None for p in processes), "a Celery process died"
        assert time.monotonic() < deadline, f"{event_id} was not drained"
        time.sleep(0.2)


def _restart(redis_server) -> None:
    redis_server.kill()
    time.sleep(5)
    redis_server.start()


def _worker_args(queue: str) -> tuple[str, ...]:
    return ("worker", "--concurrency=1", "--without-gossip", "--without-mingle", "-Q", queue, f"--hostname={queue}@%h")


def _wait_ready(producer: Celery, queue: str, worker: subprocess.Popen) -> None:
    """Until the worker answers a ping: a task sent before it bound its queue would be lost."""
    deadline = time.monotonic() + 60
    while not producer.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1):
        assert worker.poll() is None and time.monotonic() < deadline, "the worker did not start"


def test_a_worker_keeps_running_across_a_broker_restart_and_runs_a_task_sent_after_it(
    celery, redis_server, record, monkeypatch
):
    worker = celery(*_worker_args(celery.queue))
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)  # Celery prefers it to broker=
    producer = Celery(broker=redis_server.url, set_as_current=False)
    _wait_ready(producer, celery.queue, worker)
    first = record()
    producer.send_task("gateway.drain_events", queue=celery.queue)
    _wait_stored(first, worker)

    _restart(redis_server)
    after = record()
    producer.send_task("gateway.drain_events", queue=celery.queue)

    _wait_stored(after, worker)
    assert worker.poll() is None


def test_beat_keeps_sending_its_schedule_across_a_broker_restart(celery, redis_server, record, tmp_path):
    worker = celery(*_worker_args(celery.queue))
    beat = celery("beat", f"--schedule={tmp_path / 'beat-schedule'}")
    _wait_stored(record(), worker, beat)  # beat sends gateway.drain_events every 5 s

    _restart(redis_server)

    _wait_stored(record(), worker, beat)
    assert beat.poll() is None
