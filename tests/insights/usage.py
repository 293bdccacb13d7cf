"""Usage for the savings tests: calls sent through ingestion with a team's key, then rolled up."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.allocation.services import day_refresh
from apps.org.models import Team
from apps.usage.keys import api_key_lookup
from apps.usage.services import events_ingest
from tests.factories import ApiKeyFactory, ModelPriceFactory

# The detectors judge the 28 days before TODAY; ingestion refuses events older than 180 days.
TODAY = timezone.now().date()

# Opus-like and Sonnet-like prices per million tokens (input, output, cache read, 5m write).
OPUS = {
    "input_per_mtok": Decimal("15"),
    "output_per_mtok": Decimal("75"),
    "cache_read_per_mtok": Decimal("1.5"),
    "cache_write_per_mtok": Decimal("18.75"),
    "cache_write_1h_per_mtok": Decimal("30"),
}
SONNET = {
    "input_per_mtok": Decimal("3"),
    "output_per_mtok": Decimal("15"),
    "cache_read_per_mtok": Decimal("0.3"),
    "cache_write_per_mtok": Decimal("3.75"),
    "cache_write_1h_per_mtok": Decimal("6"),
}


def prices_create() -> None:
    ModelPriceFactory(model="claude-opus-4-1", **OPUS)
    ModelPriceFactory(model="claude-sonnet-4-5", **SONNET)


def at(days_before: int, hour: int = 12) -> datetime:
    """A moment `days_before` days before TODAY, at `hour` UTC."""
    return datetime.combine(TODAY - timedelta(days=days_before), time(hour), tzinfo=UTC)


def weekday_noon(min_days_before: int = 1) -> datetime:
    """Noon UTC on the first weekday at least `min_days_before` days before TODAY: working hours."""
    days = min_days_before
    while (TODAY - timedelta(days=days)).weekday() >= 5:
        days += 1
    return at(days)


class Usage:
    """Calls collected per team, ingested and rolled up by `flush`."""

    def __init__(self) -> None:
        self.events: list[tuple[Team, dict, dict]] = []
        self.keys: dict[tuple[int, str], object] = {}
        self.count = 0

    def key(self, team: Team, name: str = "service"):
        if (team.pk, name) not in self.keys:
            self.keys[(team.pk, name)] = ApiKeyFactory(
                team=team, name=f"{team.slug}-{name}", pinned_tags={"team": team.slug}
            )
        return self.keys[(team.pk, name)]

    def add(self, team: Team, when: datetime, *, times: int = 1, key: str = "service", **fields) -> None:
        for _ in range(times):
            self.count += 1
            event = {
                "event_id": f"evt-{self.count:06d}",
                "timestamp": when.isoformat(),
                "provider": "anthropic",
                "model": "claude-opus-4-1",
                "input_tokens": 1000,
                "output_tokens": 100,
                "environment": "production",
                "feature": "summarise",
                **fields,
            }
            self.events.append((team, self.key(team, key), event))

    def flush(self) -> None:
        by_key: dict[int, tuple[object, list[dict]]] = {}
        for _team, key, event in self.events:
            by_key.setdefault(key.pk, (key, []))[1].append(event)
        for key, events in by_key.values():
            info = api_key_lookup(key.raw_key)
            for i in range(0, len(events), 1000):
                result = events_ingest(key=info, events=events[i : i + 1000])
                assert result.accepted == len(events[i : i + 1000]), result.rejected
        for day in sorted({datetime.fromisoformat(e["timestamp"]).date() for _, _, e in self.events}):
            day_refresh(day=day)
        self.events.clear()
