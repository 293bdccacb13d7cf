"""A small priced company for the page tests: two teams, a shared platform team, one rule."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.utils import timezone

from apps.allocation.models import SharedCostRule
from apps.allocation.services import day_refresh
from apps.usage.keys import api_key_lookup
from apps.usage.services import events_ingest
from tests.browser import browser_page  # noqa: F401  (a fixture of the browser tests)
from tests.factories import ApiKeyFactory, ModelPriceFactory, ProductFactory, TeamFactory


def page_event(event_id: str, at: datetime, **fields) -> dict:
    return {
        "event_id": event_id,
        "timestamp": at.isoformat(),
        "provider": "anthropic",
        "model": "test-model",
        "input_tokens": 1_000_000,
        "output_tokens": 0,
        "environment": "production",
        **fields,
    }


@pytest.fixture
def company(settings, team, other_team):
    """Today: search spends $3 (product answers) + $3 in staging; billing $6; platform $6,
    split by billed cost: search gets $3, billing $3. Search totals $9, billing $9."""
    settings.ROLLUP_REFRESH_ON_INGEST = False
    ModelPriceFactory()
    platform = TeamFactory(slug="platform", name="Platform", is_shared=True)
    answers = ProductFactory(slug="answers", name="Answers", team=team)
    today = timezone.now().date()
    midnight = datetime.combine(today, time.min, tzinfo=UTC)
    SharedCostRule.objects.create(
        name="Platform retrieval", source="shared_team", source_team=platform, effective_from=today.replace(day=1)
    )
    for owner, events in (
        (
            team,
            [
                page_event("s1", midnight, product="answers", customer="acme", agent="bot", trace_id="t1"),
                page_event("s2", midnight, product="answers", environment="staging"),
            ],
        ),
        (
            other_team,
            [
                page_event("b1", midnight, environment="development"),
                page_event("b2", midnight, environment="development"),
            ],
        ),
        (
            platform,
            [
                page_event("p1", midnight, environment="development"),
                page_event("p2", midnight, environment="development"),
            ],
        ),
    ):
        key = ApiKeyFactory(team=owner, pinned_tags={"team": owner.slug})
        result = events_ingest(key=api_key_lookup(key.raw_key), events=events)
        assert result.accepted == len(events), result.rejected
    day_refresh(day=today)
    return {"today": today, "platform": platform, "answers": answers}
