"""Which requests read from the replica, where the router sends queries, and the lag notice."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from apps.usage.models import UsageEvent
from attribution_site import replica
from attribution_site.replica import ReplicaReadMiddleware, ReplicaRouter


@pytest.fixture
def with_replica(settings):
    """A replica alias in the settings (the middleware only asks whether one is configured)."""
    settings.DATABASES = {**settings.DATABASES, "replica": {**settings.DATABASES["default"]}}


def _seen(path: str, method: str = "get") -> bool:
    """Whether the view behind `path` would run as a replica read."""
    seen = []

    def view(request):
        seen.append(replica._replica_reads.get())
        return HttpResponse()

    ReplicaReadMiddleware(view)(getattr(RequestFactory(), method)(path))
    return seen[0]


@pytest.mark.parametrize("path", ["/teams/search/", "/overview/", "/api/v1/costs", "/api/v1/focus.csv", "/savings/"])
def test_pages_read_apis_and_exports_read_from_the_replica(with_replica, path):
    assert _seen(path) is True


@pytest.mark.parametrize("path", ["/api/v1/events", "/gateway/openai/v1/chat/completions", "/admin/", "/healthz"])
def test_ingestion_the_gateway_the_admin_and_read_backs_stay_on_the_primary(with_replica, path):
    assert _seen(path) is False


def test_a_post_to_a_page_stays_on_the_primary(with_replica):
    assert _seen("/teams/search/", method="post") is False


def test_without_a_replica_every_request_reads_the_primary():
    assert _seen("/teams/search/") is False


def test_the_router_sends_reads_to_the_replica_during_a_replica_read_and_writes_to_the_primary():
    router = ReplicaRouter()
    assert router.db_for_read(UsageEvent) == "default"
    token = replica._replica_reads.set(True)
    try:
        assert router.db_for_read(UsageEvent) == "replica"
        assert router.db_for_write(UsageEvent) == "default"
    finally:
        replica._replica_reads.reset(token)
    assert router.allow_migrate("replica", "usage") is False


@pytest.mark.django_db
def test_a_page_read_from_a_replica_minutes_behind_says_so(client, finance, monkeypatch):
    monkeypatch.setattr(replica, "reading_from_replica", lambda: True)
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 185.0)
    client.force_login(finance)

    page = client.get("/overview/").content.decode()

    assert "read from a replica that is 3 minutes behind" in page


@pytest.mark.django_db
def test_a_replica_under_a_minute_behind_goes_unmentioned(client, finance, monkeypatch):
    monkeypatch.setattr(replica, "reading_from_replica", lambda: True)
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 59.0)
    client.force_login(finance)

    assert "replica" not in client.get("/overview/").content.decode()
