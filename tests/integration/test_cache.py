"""The shared Redis cache: one redis-py client per pool, values shared across processes, and what
a process does when it comes back after an outage."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.cache import cache

from apps.org.registry import registry
from attribution_site import redis_outage, snapshots

from .processes import RedisServer


def test_the_cache_reuses_its_redis_client():
    assert cache.client.get_client() is cache.client.get_client()


def test_reading_every_snapshot_version_is_one_round_trip():
    client = cache.client.get_client()

    def mgets() -> int:
        return client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0)

    before = mgets()
    assert cache.get_many([f"snapshot:test-{i}" for i in range(3)]) == {}
    assert mgets() - before == 1


def test_a_value_set_here_is_read_by_another_process():
    cache.set("test:shared", "from the test process", 30)
    code = (
        "import django; django.setup(); from django.core.cache import cache; "
        "print(cache.get('test:shared')); cache.delete('test:shared')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "from the test process"


@pytest.mark.django_db
def test_a_process_that_saw_the_cache_down_bumps_every_version_when_it_answers_again(tmp_path, settings):
    """A change saved during the outage bumped no version, and the process that saved it may be
    gone: any process that saw the outage bumps them all, so every other process rebuilds."""
    server = RedisServer(tmp_path)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": settings.CACHE_REDIS_OPTIONS,
        }
    }
    settings.REDIS_OUTAGE_RETRY_SECONDS = 0.2
    try:
        registry.get()
        before = cache.get(registry.key)
        server.kill()
        registry.get()
        assert snapshots._outage_seen
        server.start()  # the append-only file brings the old versions back
        time.sleep(0.3)  # past REDIS_OUTAGE_RETRY_SECONDS

        registry.get()

        assert cache.get(registry.key) not in (None, before)
        assert not snapshots._outage_seen
    finally:
        server.stop()
        redis_outage._down_until.clear()
