"""Keeping derived numbers current: inline refresh when embedded, re-allocation when a rule changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.allocation import tasks
from apps.allocation.models import SharedCostRule
from apps.allocation.services import rule_changed
from apps.rollups.models import DailyRollup
from apps.rollups.services import dirty_days
from apps.usage.models import ClosedMonth
from tests.factories import SharedCostRuleFactory
from tests.rollups.events import days_ago, event, ingest

pytestmark = pytest.mark.django_db


def test_embedded_ingestion_refreshes_the_day_once_committed(
    settings, api_key, price, django_capture_on_commit_callbacks
):
    settings.ROLLUP_REFRESH_ON_INGEST = True

    with django_capture_on_commit_callbacks(execute=True):
        ingest(api_key, event(team="search"))

    assert DailyRollup.objects.get(day=days_ago(1)).requests == 1
    assert dirty_days() == []


def test_with_a_broker_ingestion_leaves_the_day_to_beat(settings, api_key, price, django_capture_on_commit_callbacks):
    settings.ROLLUP_REFRESH_ON_INGEST = False

    with django_capture_on_commit_callbacks(execute=True):
        ingest(api_key, event(team="search"))

    assert not DailyRollup.objects.exists()
    assert dirty_days() == [days_ago(1)]


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.allocate_days, "delay", lambda start, end: calls.append((start, end)))
    return calls


def test_a_changed_rule_reallocates_the_open_months_after_the_last_closed_one(
    platform, queued, django_capture_on_commit_callbacks
):
    today = timezone.now().date()
    rule = SharedCostRuleFactory(source_team=platform, effective_from=today - timedelta(days=400))
    ClosedMonth.objects.create(month=(today.replace(day=1) - timedelta(days=1)).replace(day=1))

    with django_capture_on_commit_callbacks(execute=True):
        rule_changed(rule=rule, today=today)

    assert queued == [(today.replace(day=1).isoformat(), today.isoformat())]


def test_a_changed_rule_reallocates_from_its_start_while_no_month_is_closed(
    platform, queued, django_capture_on_commit_callbacks
):
    today = timezone.now().date()
    rule = SharedCostRuleFactory(source_team=platform, effective_from=today - timedelta(days=400))

    with django_capture_on_commit_callbacks(execute=True):
        rule_changed(rule=rule, today=today)

    assert queued == [((today - timedelta(days=400)).isoformat(), today.isoformat())]


def test_a_changed_rule_that_starts_this_month_reallocates_from_its_first_day(
    platform, queued, django_capture_on_commit_callbacks
):
    today = timezone.now().date()
    rule = SharedCostRuleFactory(source_team=platform, effective_from=today)

    with django_capture_on_commit_callbacks(execute=True):
        rule_changed(rule=rule, today=today)

    assert queued == [(today.isoformat(), today.isoformat())]


def test_a_rule_added_in_the_admin_is_allocated_only_once_its_transaction_commits(
    client, admin_user, platform, team, queued, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    today = timezone.now().date()
    form = {
        "name": "Platform",
        "source": SharedCostRule.Source.SHARED_TEAM,
        "source_team": platform.pk,
        "method": SharedCostRule.Method.BILLED_COST,
        "all_teams": "on",
        "effective_from": today.isoformat(),
        "targets-TOTAL_FORMS": 0,
        "targets-INITIAL_FORMS": 0,
        "targets-MIN_NUM_FORMS": 0,
        "targets-MAX_NUM_FORMS": 1000,
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post("/admin/allocation/sharedcostrule/add/", form).status_code == 302
        assert queued == []  # nothing is sent while the admin's transaction is open

    for callback in callbacks:
        callback()
    assert queued == [(today.isoformat(), today.isoformat())]
