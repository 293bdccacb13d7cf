"""manage.py rollup: refresh the dirty days, or every day from --since."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.allocation.models import AllocationResult
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild, dirty_days
from apps.usage.models import DirtyMark
from tests.factories import SharedCostRuleFactory, TeamFactory

from .events import days_ago, event, ingest

pytestmark = pytest.mark.django_db


def _rollup(*args: str) -> str:
    out = StringIO()
    call_command("rollup", *args, stdout=out)
    return out.getvalue()


def _rolled_up_days() -> set:
    return set(DailyRollup.objects.values_list("day", flat=True))


def test_it_refreshes_every_dirty_day(api_key, price):
    ingest(api_key, event(day=days_ago(1)), event(day=days_ago(4)))

    output = _rollup()

    assert output.strip() == "Refreshed 2 day(s)."
    assert _rolled_up_days() == {days_ago(1), days_ago(4)}
    assert dirty_days() == []


def test_without_since_it_leaves_clean_days_alone(api_key, price):
    ingest(api_key, event(day=days_ago(2)))
    day_rebuild(day=days_ago(2))
    DailyRollup.objects.all().delete()
    ingest(api_key, event(day=days_ago(1)))

    _rollup()

    assert _rolled_up_days() == {days_ago(1)}


def test_since_rebuilds_every_day_up_to_today_dirty_or_not(api_key, price):
    ingest(api_key, event(day=days_ago(3)), event(day=days_ago(1)))
    DirtyMark.objects.all().delete()

    output = _rollup("--since", days_ago(3).isoformat())

    assert output.strip() == "Refreshed 4 day(s)."
    assert _rolled_up_days() == {days_ago(3), days_ago(1)}


def test_until_ends_the_range(api_key, price):
    ingest(api_key, event(day=days_ago(3)), event(day=days_ago(1)))

    output = _rollup("--since", days_ago(4).isoformat(), "--until", days_ago(2).isoformat())

    assert output.strip() == "Refreshed 3 day(s)."
    assert _rolled_up_days() == {days_ago(3)}


def test_until_without_since_is_refused(db):
    with pytest.raises(CommandError, match="--until needs --since"):
        _rollup("--until", days_ago(1).isoformat())


def test_it_allocates_the_days_it_rebuilds(api_key, price, team):
    platform = TeamFactory(slug="platform", is_shared=True)
    SharedCostRuleFactory(source_team=platform)
    ingest(api_key, event(team="platform"), event(team="search"))

    _rollup()

    assert AllocationResult.objects.get().amount == AllocationResult.objects.get().source_amount
