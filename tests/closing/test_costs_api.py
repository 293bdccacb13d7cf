"""The costs API shows late events of a closed month as their own line."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.rollups.events import event, ingest, refresh_dirty_days

pytestmark = pytest.mark.django_db


def test_grouped_by_adjustment_the_late_events_are_a_line_of_their_own(closed_ledger, api_key, finance):
    ingest(api_key, event(day=closed_ledger.closed_day, team="search"))
    refresh_dirty_days()
    client = APIClient()
    client.force_authenticate(finance)

    response = client.get(
        "/api/v1/costs",
        {"start": closed_ledger.open.isoformat(), "end": closed_ledger.open_day.isoformat(), "group_by": "adjustment"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["adjustment"], r["direct_cost"]) for r in body["rows"]] == [
        ("", "0.004500000"),
        (f"{closed_ledger.closed:%Y-%m}", "0.004500000"),
    ]
    assert body["total"]["direct_cost"] == "0.009000000"


def test_filtered_by_adjustment_only_the_late_events_are_counted(closed_ledger, api_key, finance):
    ingest(api_key, event(day=closed_ledger.closed_day, team="search", input_tokens=2000, output_tokens=0))
    refresh_dirty_days()
    client = APIClient()
    client.force_authenticate(finance)

    response = client.get(
        "/api/v1/costs",
        {
            "start": closed_ledger.closed.isoformat(),
            "end": closed_ledger.open_day.isoformat(),
            "group_by": "team",
            "adjustment": f"{closed_ledger.closed:%Y-%m}",
        },
    )

    assert response.status_code == 200, response.content
    assert [(r["team"], r["direct_cost"]) for r in response.json()["rows"]] == [("search", "0.006000000")]
