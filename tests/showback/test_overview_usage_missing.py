"""The organisation overview counts calls reported without token counts, per API key."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.allocation.services import day_refresh
from apps.usage.keys import api_key_lookup
from apps.usage.services import events_ingest
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

OVERVIEW = "/overview/"


def _send_without_usage(key, count: int) -> None:
    events = [
        {
            "event_id": f"{key.name}-{n}",
            "timestamp": timezone.now().isoformat(),
            "provider": "openai",
            "model": "gpt-4o-mini",
            "usage_missing": True,
        }
        for n in range(count)
    ]
    assert events_ingest(key=api_key_lookup(key.raw_key), events=events, source="otlp").accepted == count


def test_the_overview_shows_how_many_calls_each_key_sent_without_usage(company, client, finance):
    _send_without_usage(ApiKeyFactory(team=company["platform"], name="otel-collector"), 3)
    _send_without_usage(ApiKeyFactory(team=company["platform"], name="chat-worker"), 1)
    day_refresh(day=company["today"])

    client.force_login(finance)
    response = client.get(OVERVIEW)

    assert [(k.api_key, k.key_team, k.calls) for k in response.context["usage_missing"]] == [
        ("otel-collector", "Platform", 3),
        ("chat-worker", "Platform", 1),
    ]
    assert response.context["usage_missing_total"] == 4
    assert b"otel-collector (Platform): 3" in response.content
