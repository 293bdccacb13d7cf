"""A single event goes in and comes back out priced."""

from decimal import Decimal

import pytest

from apps.usage.models import UsageEvent
from tests.factories import ModelPriceFactory

pytestmark = pytest.mark.django_db


def test_it_stores_and_prices_one_event(key_client):
    ModelPriceFactory()
    response = key_client.post(
        "/api/v1/events",
        {
            "event_id": "e1",
            "timestamp": "2026-11-24T10:00:00Z",
            "provider": "anthropic",
            "model": "test-model",
            "input_tokens": 1000,
            "output_tokens": 100,
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert UsageEvent.objects.get().billed_cost == Decimal("0.004500000")
