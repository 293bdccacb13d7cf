"""Liveness and readiness probes."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"database": True})


def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"database": True, "broker": True})
