"""On PostgreSQL a read that runs past API_READ_STATEMENT_TIMEOUT_MS is stopped with a clear 503,
and no more than API_READ_CONCURRENCY reports run at once."""

from __future__ import annotations

import threading

import psycopg
import pytest
from rest_framework.test import APIClient

from .web_server import database_url

READ_SLOTS = 0x52454144  # attribution_site.reads: the advisory lock namespace of the report slots

pytestmark = pytest.mark.django_db


@pytest.fixture
def tables_locked():
    """Another session holds the report tables exclusively for five seconds: a read of them waits
    that long, unless the time limit stops it first."""
    with psycopg.connect(database_url()) as other:
        other.execute(
            "LOCK TABLE rollups_dailyrollup, rollups_dailybreakdown, allocation_allocationresult "
            "IN ACCESS EXCLUSIVE MODE"
        )
        release = threading.Timer(5, other.rollback)
        release.start()
        yield
        release.cancel()
        other.rollback()


@pytest.fixture
def finance_client(finance):
    client = APIClient()
    client.force_authenticate(finance)
    return client


def test_a_costs_report_past_the_time_limit_is_a_503_saying_what_to_do(finance_client, settings, tables_locked):
    settings.API_READ_STATEMENT_TIMEOUT_MS = 300

    response = finance_client.get("/api/v1/costs", {"start": "2026-10-01", "end": "2026-10-31", "group_by": "team"})

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The report took longer than 0.3 s and was stopped: ask for fewer days, "
        "group by fewer dimensions, or filter one of them."
    }


def test_an_allocations_read_past_the_time_limit_is_a_503(finance_client, settings, tables_locked):
    settings.API_READ_STATEMENT_TIMEOUT_MS = 300

    response = finance_client.get("/api/v1/allocations", {"month": "2026-10"})

    assert response.status_code == 503


def test_within_the_time_limit_the_report_answers(finance_client, settings):
    settings.API_READ_STATEMENT_TIMEOUT_MS = 300

    response = finance_client.get("/api/v1/costs", {"start": "2026-10-01", "end": "2026-10-31"})

    assert response.status_code == 200
    assert response.json()["rows"] == []


@pytest.fixture
def report_slots_taken(settings):
    """Another session holds every report slot, as that many long reports would."""
    settings.API_READ_CONCURRENCY = 2
    with psycopg.connect(database_url(), autocommit=True) as other:
        for slot in range(2):
            other.execute("SELECT pg_advisory_lock(%s, %s)", [READ_SLOTS, slot])
        yield
        other.execute("SELECT pg_advisory_unlock_all()")


def test_with_every_report_slot_taken_a_read_is_told_to_retry(finance_client, report_slots_taken):
    response = finance_client.get("/api/v1/costs", {"start": "2026-10-01", "end": "2026-10-31"})

    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    assert response.json()["detail"].startswith("2 reports are running already; try again in a few seconds.")


def test_a_free_report_slot_lets_the_read_run(finance_client, settings, report_slots_taken):
    settings.API_READ_CONCURRENCY = 3

    assert finance_client.get("/api/v1/allocations", {"month": "2026-10"}).status_code == 200
