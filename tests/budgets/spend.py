"""Usage of known cost for the budget tests, sent through ingestion and rolled up day by day."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.utils import timezone

from apps.allocation.services import day_refresh
from apps.org.models import Team
from apps.usage.keys import api_key_lookup
from apps.usage.services import events_ingest
from tests.factories import ApiKeyFactory, ModelPriceFactory

# Input-token prices per million. `Spend.add` refuses an amount that is not a whole number of
# tokens, so every amount a test names is exactly what it costs.
PRICES = {"claude-haiku-4-5": Decimal("1"), "claude-sonnet-4": Decimal("3"), "claude-opus-4-1": Decimal("15")}


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def today_start() -> datetime:
    """Today's first instant: never in the future, whenever the test runs."""
    return datetime.combine(timezone.now().date(), time.min, tzinfo=UTC)


class Spend:
    """Usage events of known cost, sent through `events_ingest` with each team's key, then
    rolled up and allocated day by day by `flush`."""

    def __init__(self) -> None:
        self._keys: dict[int, object] = {}
        self._events: dict[int, list[dict]] = defaultdict(list)
        self._count = 0

    def add(self, at: datetime, usd: str, *, team: Team, model: str = "claude-haiku-4-5", **tags: str) -> None:
        tokens = Decimal(usd) * 1_000_000 / PRICES[model]
        assert tokens == tokens.to_integral_value(), f"${usd} is not a whole number of {model} tokens"
        if team.pk not in self._keys:
            self._keys[team.pk] = ApiKeyFactory(team=team, pinned_tags={"team": team.slug})
        self._count += 1
        self._events[team.pk].append(
            {
                "event_id": f"evt-{self._count:06d}",
                "timestamp": at.isoformat(),
                "provider": "anthropic",
                "model": model,
                "input_tokens": int(tokens),
                "output_tokens": 0,
                "environment": "production",
                **tags,
            }
        )

    def flush(self) -> None:
        days = set()
        for team_pk, events in self._events.items():
            key = api_key_lookup(self._keys[team_pk].raw_key)
            for i in range(0, len(events), 1000):
                result = events_ingest(key=key, events=events[i : i + 1000])
                assert result.accepted == len(events[i : i + 1000]), result.rejected
            days |= {datetime.fromisoformat(e["timestamp"]).date() for e in events}
        self._events.clear()
        for day in sorted(days):
            day_refresh(day=day)


def prices_create() -> None:
    for model, price in PRICES.items():
        ModelPriceFactory(model=model, input_per_mtok=price)
