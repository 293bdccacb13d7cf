"""GET /api/v1/events/{event_id}: any event_id, line breaks included, gets the API's answer."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_event_id_with_a_line_break_is_a_json_404(key_client):
    response = key_client.get("/api/v1/events/%0Aabc")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No event with this event_id is visible to you."}
