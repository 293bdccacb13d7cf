"""Ingestion under failure, against a real gunicorn: client timeouts and retries, a worker
SIGKILLed mid-batch, and many overlapping batches at once each store every event exactly once."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
from django.db.models import Sum

from apps.usage.models import UsageEvent
from tests.factories import EventPayloadFactory, ModelPriceFactory

from .web_server import WebServer, database_url

# serialized_rollback: keeps migration 0002's environments and tag policy for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

EVENTS_TABLE = UsageEvent._meta.db_table


@pytest.fixture
def start_web_server(tmp_path) -> Iterator[Callable[..., WebServer]]:
    servers: list[WebServer] = []

    def start(*, workers: int = 1) -> WebServer:
        server = WebServer(workers=workers, log=tmp_path / f"gunicorn-{len(servers)}.log")
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def price(db):
    return ModelPriceFactory()  # $0.0045 for each EventPayloadFactory event


def batch_body(prefix: str, count: int) -> bytes:
    return json.dumps({"events": [EventPayloadFactory(event_id=f"{prefix}-{i:04d}") for i in range(count)]}).encode()


def post_batch(server: WebServer, api_key, body: bytes, *, timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{server.url}/api/v1/events",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {api_key.raw_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


@contextmanager
def events_table_locked() -> Iterator[psycopg.Connection]:
    """Until the block ends, every INSERT into the events table waits: SHARE ROW EXCLUSIVE
    conflicts with the ROW EXCLUSIVE an insert takes, not with the reads before it. The batch
    path (apps.usage.services.storage) has by then COPYed the batch into its stage table."""
    conn = psycopg.connect(database_url(), connect_timeout=5)
    try:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(f"LOCK TABLE {EVENTS_TABLE} IN SHARE ROW EXCLUSIVE MODE")
        yield conn
    finally:
        conn.close()  # rolls back, releasing the lock


def _poll(query: str, params: tuple, *, until: Callable[[list], bool], timeout: float = 15) -> list:
    # Its own autocommit connection: within one transaction pg_stat_activity is a frozen snapshot.
    with psycopg.connect(database_url(), connect_timeout=5, autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        while True:
            rows = conn.execute(query, params).fetchall()
            if until(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


def insert_waiting_on(lock: psycopg.Connection) -> int:
    """The server backend whose INSERT into the events table waits on `lock`: proof the batch is mid-way."""
    rows = _poll(
        "SELECT pid, query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
        (lock.info.backend_pid,),
        until=bool,
    )
    assert len(rows) == 1, f"expected one server backend waiting on the lock, found {rows}"
    ((pid, query),) = rows
    assert f"INSERT INTO {EVENTS_TABLE}" in query
    return pid


def wait_backend_gone(pid: int) -> None:
    rows = _poll("SELECT pid FROM pg_stat_activity WHERE pid = %s", (pid,), until=lambda rows: not rows)
    assert rows == [], f"backend {pid} is still there"


def assert_stored_exactly_once(api_key, event_ids: set[str], *, billed: Decimal) -> None:
    events = UsageEvent.objects.filter(api_key=api_key)
    stored = list(events.values_list("event_id", flat=True))
    assert (len(stored), set(stored)) == (len(event_ids), event_ids)
    assert events.aggregate(total=Sum("billed_cost"))["total"] == billed


def test_a_client_that_times_out_and_retries_stores_each_event_exactly_once(start_web_server, api_key):
    server = start_web_server(workers=1)
    body = batch_body("timeout", 1000)
    with events_table_locked() as lock:
        with pytest.raises(TimeoutError):
            post_batch(server, api_key, body, timeout=2)
        insert_waiting_on(lock)
    # The one sync worker finishes the abandoned request before it reads the retry, so the
    # retry finds every event already stored.
    assert post_batch(server, api_key, body) == (
        202,
        {"accepted": 0, "duplicates": 1000, "rejected": [], "conflicts": []},
    )
    assert_stored_exactly_once(api_key, {f"timeout-{i:04d}" for i in range(1000)}, billed=Decimal("4.500000000"))


def test_a_worker_killed_mid_batch_stores_nothing_and_the_retry_stores_it_once(start_web_server, api_key):
    server = start_web_server(workers=1)
    body = batch_body("killed", 1000)
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(post_batch(server, api_key, body, timeout=30))
        except Exception as exc:  # the connection drops with the worker
            outcome.append(exc)

    client = threading.Thread(target=send, daemon=True)
    with events_table_locked() as lock:
        client.start()
        blocked = insert_waiting_on(lock)
        killed = server.kill_worker()
        client.join(timeout=30)
        assert not client.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], Exception), outcome
    # Released: the orphaned backend may finish its INSERT, then finds its client gone and
    # rolls back. Only once it has left can "nothing stored" be told from "not yet committed".
    wait_backend_gone(blocked)
    assert UsageEvent.objects.filter(api_key=api_key).count() == 0

    server.wait_ready(replaced=killed)
    assert post_batch(server, api_key, body) == (
        202,
        {"accepted": 1000, "duplicates": 0, "rejected": [], "conflicts": []},
    )
    # Exact, so no row lingered in the stage table to be inserted twice or left out.
    assert_stored_exactly_once(api_key, {f"killed-{i:04d}" for i in range(1000)}, billed=Decimal("4.500000000"))


def test_two_clients_sending_overlapping_batches_at_once_store_each_event_exactly_once(start_web_server, api_key):
    server = start_web_server(workers=2)
    rounds, size = 5, 500
    events = [EventPayloadFactory(event_id=f"overlap-{i:04d}") for i in range(rounds * size + size // 2)]
    # In each round B's batch shares half its events with A's, in the opposite order: only
    # storage sorting rows by event_id keeps the two inserts from deadlocking.
    plans = [
        [events[r * size : (r + 1) * size] for r in range(rounds)],
        [events[r * size + size // 2 : (r + 1) * size + size // 2][::-1] for r in range(rounds)],
    ]
    start_round = threading.Barrier(2, timeout=60)
    responses: list[tuple[int, dict]] = []
    errors: list[BaseException] = []

    def client(batches: list[list[dict]]) -> None:
        try:
            for batch in batches:
                start_round.wait()
                responses.append(post_batch(server, api_key, json.dumps({"events": batch}).encode()))
        except BaseException as exc:
            errors.append(exc)
            start_round.abort()

    threads = [threading.Thread(target=client, args=(plan,), daemon=True) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [], server.log_tail()

    assert len(responses) == 2 * rounds
    assert {(status, r["rejected"] == []) for status, r in responses} == {(202, True)}
    assert sum(r["accepted"] for _, r in responses) == len(events) == 2750
    assert sum(r["accepted"] + r["duplicates"] for _, r in responses) == 2 * rounds * size
    assert_stored_exactly_once(api_key, {e["event_id"] for e in events}, billed=Decimal("12.375000000"))
