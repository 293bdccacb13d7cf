"""Fixtures of the usage tests: a price to rate against and a way to send events."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory

EVENTS_URL = "/api/v1/events"


@pytest.fixture
def send(key_client):
    """POST events as a batch (the search team's key unless `client` says otherwise); the body of
    its 202, or of its 422 when no event was accepted (`status` says which the test expects)."""

    def send(*events, client=None, status=202):
        response = (client or key_client).post(EVENTS_URL, {"events": list(events)}, format="json")
        assert response.status_code == status, response.content
        return response.json()

    return send


@pytest.fixture
def client_for(team):
    """An API client holding a new key of the search team with these pinned and default tags."""

    def client_for(*, pinned_tags=None, default_tags=None):
        key = ApiKeyFactory(team=team, pinned_tags=pinned_tags or {}, default_tags=default_tags or {})
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
        return client

    return client_for
