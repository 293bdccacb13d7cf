"""The events list's page size: a whole number from 1 to 1,000, or a 400 naming page_size."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["null", "0", "1001", "ten"])
def test_a_page_size_it_cannot_use_is_refused_naming_it(key_client, value):
    response = key_client.get("/api/v1/events", {"page_size": value})

    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]


def test_a_page_size_within_bounds_is_used(key_client):
    response = key_client.get("/api/v1/events", {"page_size": "1000"})

    assert (response.status_code, response.json()["results"]) == (200, [])
