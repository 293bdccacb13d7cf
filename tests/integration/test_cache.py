"""The shared Redis cache: one redis-py client per pool, values shared across processes."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings
from django.core.cache import cache


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
