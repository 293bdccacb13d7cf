"""Snapshots of hot tables: versions read once a request, changes seen by the next request."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.org.models import Team
from apps.org.registry import registry
from attribution_site import snapshots
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_request():
    """What request_started and request_finished do for the snapshots (sending those signals
    would also close the test's database connection)."""

    def begin_and_end():
        snapshots._request_ends()
        snapshots._request_begins()

    snapshots._request_begins()
    yield begin_and_end
    snapshots._request_ends()


def _changed_elsewhere(slug: str) -> None:
    """Another process adds a team and bumps the registry's version: no signal reaches this one."""
    Team.objects.bulk_create([Team(slug=slug, name=slug)])
    cache.set(registry.key, "changed elsewhere", None)


def test_a_change_made_inside_a_request_is_seen_in_it(in_request):
    assert "ranking" not in registry.get().team_ids
    TeamFactory(slug="ranking")
    assert "ranking" in registry.get().team_ids


def test_a_request_keeps_the_versions_it_read_and_the_next_one_sees_the_change(in_request):
    next_request = in_request
    assert "ranking" not in registry.get().team_ids
    _changed_elsewhere("ranking")
    assert "ranking" not in registry.get().team_ids  # read once for the whole request

    next_request()

    assert "ranking" in registry.get().team_ids


def test_outside_a_request_every_use_checks_the_version():
    assert "ranking" not in registry.get().team_ids
    _changed_elsewhere("ranking")
    assert "ranking" in registry.get().team_ids
