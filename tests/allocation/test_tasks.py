"""The pipeline's Celery tasks, run eagerly: refresh the dirty days, re-apply rules to a range."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.tasks import allocate_days, allocate_recent_days, refresh_day, refresh_dirty_days
from apps.rollups.models import DailyRollup
from apps.rollups.services import dirty_days
from tests.factories import SharedCostRuleFactory
from tests.rollups.events import days_ago, event, ingest
from tests.rollups.events import refresh_dirty_days as refresh_now

pytestmark = pytest.mark.django_db


def test_refresh_dirty_days_refreshes_every_dirty_day(api_key, price):
    ingest(api_key, event(day=days_ago(1)), event(day=days_ago(3)))

    assert refresh_dirty_days.delay().get() == 2
    assert set(DailyRollup.objects.values_list("day", flat=True)) == {days_ago(1), days_ago(3)}
    assert dirty_days() == []


def test_a_day_refreshed_already_is_not_rebuilt_again_by_a_second_task(api_key, price):
    ingest(api_key, event(day=days_ago(1)))

    assert refresh_day.delay(days_ago(1).isoformat()).get() is True
    assert refresh_day.delay(days_ago(1).isoformat()).get() is False
    assert DailyRollup.objects.filter(day=days_ago(1)).count() == 1


def test_fixed_monthly_amounts_accrue_on_every_day_of_the_month_so_far(team):
    today = timezone.now().date()
    SharedCostRuleFactory(
        source=SharedCostRule.Source.FIXED, source_team=None, monthly_amount=Decimal("310.00"), method="even"
    )

    allocate_recent_days.delay().get()

    # The month so far, and on the 1st yesterday too (the last day of last month).
    first = min(today.replace(day=1), today - timedelta(days=1))
    days = set(AllocationResult.objects.values_list("day", flat=True))
    assert days == {first + timedelta(days=i) for i in range((today - first).days + 1)}


def test_allocate_days_applies_a_new_rule_to_days_already_rolled_up(usage, platform):
    refresh_now()
    rule = SharedCostRuleFactory(source_team=platform)

    allocate_days.delay(usage.isoformat(), usage.isoformat()).get()

    assert AllocationResult.objects.filter(rule=rule).count() == 2


def test_allocate_days_leaves_rollups_as_they_are(usage, platform, api_key):
    refresh_now()
    ingest(api_key, event(day=usage, team="search"))
    SharedCostRuleFactory(source_team=platform)

    allocate_days.delay(usage.isoformat(), usage.isoformat()).get()

    assert sum(DailyRollup.objects.filter(day=usage).values_list("requests", flat=True)) == 4


def test_allocate_days_stops_at_today(db):
    today = timezone.now().date()

    days = allocate_days.delay(today.isoformat(), (today + timedelta(days=10)).isoformat()).get()

    assert days == 1
