"""Pages and the costs API read from a real streaming replica of the primary (.ci/replica start),
the events API reads back from the primary, and a page says when the replica is behind."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.factories import ModelPriceFactory
from tests.rollups.events import event, ingest, refresh_dirty_days

from .web_server import WebServer, database_url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def replica_url() -> str:
    port = os.environ.get("REPLICA_PORT")
    if not port:
        if os.environ.get("REQUIRE_REPLICA") == "1":
            pytest.fail("REQUIRE_REPLICA=1 but REPLICA_PORT is not set: start one with .ci/replica start")
        pytest.skip("needs a streaming replica: .ci/replica start, then REPLICA_PORT=5433")
    server, name = database_url().rsplit("/", 1)
    url = f"{server.rsplit(':', 1)[0]}:{port}/{name}"
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0], f"{url} is not a replica"
    return url


def _caught_up(url: str, timeout: float = 60) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                return
            time.sleep(0.1)
    raise AssertionError(f"the replica did not replay up to {target} within {timeout:.0f} s")


def _get(url: str, *, key=None, cookie: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {key.raw_key}"} if key else {"Cookie": f"sessionid={cookie}"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return response.status, response.read().decode()


def test_pages_and_the_costs_api_read_from_the_replica(replica_url, api_key, finance, tmp_path):
    ModelPriceFactory()
    day = timezone.now().date() - timedelta(days=1)
    ingest(api_key, event(day=day, team="search"))
    refresh_dirty_days()
    browser = Client()
    browser.force_login(finance)
    cookie = browser.cookies["sessionid"].value
    _caught_up(replica_url)
    web = WebServer(
        workers=1,
        log=tmp_path / "web.log",
        extra_env={"DATABASE_REPLICA_URL": replica_url, "REPLICA_LAG_WARNING_SECONDS": "1"},
    )
    replica = psycopg.connect(replica_url, autocommit=True)
    costs = f"{web.url}/api/v1/costs?start={day.isoformat()}&end={day.isoformat()}&group_by=team"
    try:
        web.wait_ready()
        assert json.loads(_get(costs, key=api_key)[1])["total"]["direct_cost"] == "0.004500000"
        status, page = _get(f"{web.url}/teams/search/", cookie=cookie)
        assert status == 200 and "replica-lag" not in page

        replica.execute("SELECT pg_wal_replay_pause()")
        ingest(api_key, event(day=day, team="search"))
        refresh_dirty_days()
        time.sleep(6)  # past the warning threshold (1 s) and the lag reading's cache (5 s)

        assert json.loads(_get(costs, key=api_key)[1])["total"]["direct_cost"] == "0.004500000"
        assert len(json.loads(_get(f"{web.url}/api/v1/events", key=api_key)[1])["results"]) == 2
        _, page = _get(f"{web.url}/teams/search/", cookie=cookie)
        assert "read from a replica that is" in page

        replica.execute("SELECT pg_wal_replay_resume()")
        _caught_up(replica_url)
        assert json.loads(_get(costs, key=api_key)[1])["total"]["direct_cost"] == "0.009000000"
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")
        replica.close()
        web.stop()
