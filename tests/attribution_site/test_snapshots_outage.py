"""Snapshots with the shared cache unreachable: read from the database, rebuilt often, never an error."""

from __future__ import annotations

import pytest

from apps.org.models import Team
from apps.org.registry import registry
from attribution_site import redis_outage, snapshots
from tests.gateway.server import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    """The shared cache, as settings make it, on a port nobody listens on: every connection is refused."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": settings.CACHE_REDIS_OPTIONS,
        }
    }
    yield
    redis_outage._down_until.clear()
    snapshots._outage_seen = False


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(snapshots, "_clock", lambda: now[0])
    return now


def _added_elsewhere(slug: str) -> None:
    Team.objects.bulk_create([Team(slug=slug, name=slug)])  # no signal, as from another process


def test_a_snapshot_is_built_from_the_database_when_the_cache_is_down(cache_down, team):
    assert "search" in registry.get().team_ids
    assert not redis_outage.cache_reachable()


def test_it_is_kept_for_a_second_then_rebuilt_from_the_database(cache_down, team, clock):
    registry.get()
    _added_elsewhere("ranking")

    clock[0] += snapshots.OUTAGE_MAX_AGE / 2
    assert "ranking" not in registry.get().team_ids
    clock[0] += snapshots.OUTAGE_MAX_AGE / 2
    assert "ranking" in registry.get().team_ids


def test_a_change_saved_during_the_outage_is_seen_at_once_in_its_own_process(cache_down, team):
    registry.get()
    Team.objects.create(slug="ranking", name="Ranking")

    assert "ranking" in registry.get().team_ids
    assert snapshots._outage_seen  # its version is bumped once the cache answers again
