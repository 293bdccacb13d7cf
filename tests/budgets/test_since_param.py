"""`since` on the anomalies and alerts reads: a day, or left out; anything else is a 400 naming it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/anomalies", "/api/v1/alerts"])
def test_an_empty_since_is_refused_naming_it(key_client, path):
    response = key_client.get(path, {"since": ""})

    assert response.status_code == 400
    assert response.json() == {"since": ["Give a day as YYYY-MM-DD, or leave since out."]}


@pytest.mark.parametrize("path", ["/api/v1/anomalies", "/api/v1/alerts"])
def test_without_since_the_last_week_is_read(key_client, path):
    response = key_client.get(path)

    assert (response.status_code, response.json()) == (200, [])
