"""The derivation pipeline on the real stack: events over HTTP, a Celery worker process on Redis
builds rollups and allocations, and the totals match the raw events exactly."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection

from apps.allocation.models import AllocationResult
from apps.allocation.services import day_refresh
from apps.allocation.tasks import refresh_dirty_days
from apps.rollups.models import DailyRollup
from apps.usage.models import DirtyMark
from tests.factories import ApiKeyFactory, ModelPriceFactory, SharedCostRuleFactory, TeamFactory
from tests.rollups.events import (
    days_ago,
    event,
    event_totals,
    event_totals_by_team,
    ingest,
    may_charge,
    rollup_totals,
    rollup_totals_by_team,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DAYS = (days_ago(1), days_ago(2))


@pytest.fixture
def world(settings):
    """search, billing and a shared platform team split by billed cost; a key and a price."""
    settings.ROLLUP_REFRESH_ON_INGEST = False  # the worker refreshes, when beat (here: the test) asks
    search = TeamFactory(slug="search")
    TeamFactory(slug="billing")
    platform = TeamFactory(slug="platform", is_shared=True)
    ModelPriceFactory()
    rule = SharedCostRuleFactory(source_team=platform)
    key = ApiKeyFactory(team=search)
    may_charge(key)  # a shared service's key, posting every team's events
    return key, rule


def _post_events(live_server, key, events) -> dict:
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {key.raw_key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        return json.loads(response.read())


def _batch(day):
    return [
        event(day=day, team="search", cache_read_tokens=400, cache_write_tokens=100),
        event(day=day, team="billing", output_tokens=777, service_tier="batch"),
        event(day=day, team="platform", input_tokens=4321),
        event(day=day, team="ghost", outcome="error"),
        event(day=day, model="mystery-model"),
    ]


def _wait_until_refreshed(days, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not DirtyMark.objects.exists() and all(DailyRollup.objects.filter(day=d).exists() for d in days):
            return
        time.sleep(0.25)
    pytest.fail(f"the worker did not refresh {days} in {timeout}s; still dirty: {list(DirtyMark.objects.all())}")


def _allocated_by_rule_and_day() -> dict:
    sums = defaultdict(Decimal)
    sources = {}
    for result in AllocationResult.objects.all():
        sums[(result.rule_id, result.day)] += result.amount
        sources[(result.rule_id, result.day)] = result.source_amount
    return sums, sources


def test_a_worker_builds_rollups_that_match_the_events_posted_exactly(celery_worker_process, live_server, world):
    key, _ = world
    first = _batch(DAYS[0])
    assert _post_events(live_server, key, first + _batch(DAYS[1]))["accepted"] == 10
    assert _post_events(live_server, key, [*first[:2], event(day=DAYS[0], team="search")])["duplicates"] == 2

    refresh_dirty_days.delay()
    _wait_until_refreshed(DAYS)

    for day in DAYS:
        assert rollup_totals(day) == event_totals(day)
        assert rollup_totals_by_team(day) == event_totals_by_team(day)
    assert rollup_totals(DAYS[0])["requests"] == 6


def test_a_worker_splits_the_shared_spend_exactly(celery_worker_process, live_server, world):
    key, rule = world
    _post_events(live_server, key, _batch(DAYS[0]) + _batch(DAYS[1]))

    refresh_dirty_days.delay()
    _wait_until_refreshed(DAYS)

    sums, sources = _allocated_by_rule_and_day()
    for day in DAYS:
        platform_spend = sum(r.billed_cost for r in DailyRollup.objects.filter(day=day, team__slug="platform"))
        assert sources[(rule.id, day)] == platform_spend == Decimal("0.014463000")
        assert sums[(rule.id, day)] == platform_spend


def test_two_refreshes_of_one_day_at_once_do_not_double_count(world):
    key, rule = world
    ingest(key, *_batch(DAYS[0]))
    start = threading.Barrier(2)
    errors = []

    def refresh():
        try:
            start.wait(timeout=10)
            day_refresh(day=DAYS[0])
        except Exception as exc:  # surfaced below: an exception in a thread would pass silently
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(5):
        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        start.reset()

    assert errors == []
    assert rollup_totals(DAYS[0]) == event_totals(DAYS[0])
    sums, sources = _allocated_by_rule_and_day()
    assert sums[(rule.id, DAYS[0])] == sources[(rule.id, DAYS[0])] == Decimal("0.014463000")
    assert AllocationResult.objects.filter(day=DAYS[0]).count() == 2
