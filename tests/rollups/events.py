"""Events sent through the real ingestion service, and the day totals the invariants compare."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.org.models import Team
from apps.rollups.models import DailyRollup
from apps.usage.keys import api_key_lookup
from apps.usage.models import ApiKey, UsageEvent
from apps.usage.services import IngestResult, events_ingest

TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
MONEY = ("list_cost", "billed_cost", "cache_savings")

_event_ids = itertools.count(1)


def days_ago(n: int) -> date:
    """A UTC day `n` days back: n >= 1 keeps a noon timestamp in the past at any time of day."""
    return timezone.now().astimezone(UTC).date() - timedelta(days=n)


def event(*, day: date | None = None, hour: int = 12, **fields: Any) -> dict[str, Any]:
    """A canonical event at `hour` UTC on `day` (yesterday by default).

    Unless `fields` say otherwise: 1,000 input and 100 output tokens of anthropic/test-model,
    which is $0.0045 at ModelPriceFactory's price.
    """
    at = datetime.combine(day or days_ago(1), time(hour), tzinfo=UTC)
    return {
        "event_id": f"evt-{next(_event_ids)}",
        "timestamp": at.isoformat(),
        "provider": "anthropic",
        "model": "test-model",
        "input_tokens": 1000,
        "output_tokens": 100,
        **fields,
    }


def ingest(key: ApiKey, *events: dict[str, Any]) -> IngestResult:
    """Store events with `key` (an ApiKeyFactory key) through events_ingest; none may be rejected.

    The key stands for a shared service that may charge every registered team (the team rule has
    its own tests, in tests/usage/test_team_rule.py)."""
    may_charge(key)
    result = events_ingest(key=api_key_lookup(key.raw_key), events=list(events))
    assert not result.rejected, result.rejected
    return result


def may_charge(key: ApiKey) -> None:
    """Let `key` charge every registered team, as a shared service's key is set up to."""
    others = Team.objects.exclude(pk=key.team_id)
    if set(key.chargeable_teams.values_list("pk", flat=True)) != set(others.values_list("pk", flat=True)):
        key.chargeable_teams.set(others)


def _totals(rows, requests) -> dict[str, Any]:
    totals: dict[str, Any] = {"requests": 0, **dict.fromkeys(TOKENS, 0), **dict.fromkeys(MONEY, Decimal(0))}
    for row in rows:
        totals["requests"] += requests(row)
        for name in (*TOKENS, *MONEY):
            totals[name] += getattr(row, name)
    return totals


def event_totals(day: date) -> dict[str, Any]:
    """Requests, tokens and money of the day's raw events, added up in Python."""
    return _totals(UsageEvent.objects.filter(day=day), lambda _: 1)


def rollup_totals(day: date) -> dict[str, Any]:
    """The same figures added up over the day's rollup rows."""
    return _totals(DailyRollup.objects.filter(day=day), lambda row: row.requests)


def event_totals_by_team(day: date) -> dict[int | None, dict[str, Any]]:
    events = defaultdict(list)
    for e in UsageEvent.objects.filter(day=day):
        events[e.team_id].append(e)
    return {team_id: _totals(rows, lambda _: 1) for team_id, rows in events.items()}


def rollup_totals_by_team(day: date) -> dict[int | None, dict[str, Any]]:
    rollups = defaultdict(list)
    for r in DailyRollup.objects.filter(day=day):
        rollups[r.team_id].append(r)
    return {team_id: _totals(rows, lambda row: row.requests) for team_id, rows in rollups.items()}


def refresh_dirty_days() -> list[date]:
    """What beat does: refresh (rollup, then allocation) every dirty day; return those days."""
    from apps.allocation.services import day_refresh
    from apps.rollups.services import dirty_days

    days = dirty_days()
    for day in days:
        day_refresh(day=day)
    return days
