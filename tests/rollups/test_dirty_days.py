"""Dirty marks: added by ingestion, cleared by a rebuild, except a mark added while it ran."""

from __future__ import annotations

import pytest

from apps.rollups import services as rollup_services
from apps.rollups.services import day_rebuild, dirty_days
from apps.usage.models import DirtyMark
from apps.usage.services import days_mark_dirty

from .events import days_ago, event, ingest

pytestmark = pytest.mark.django_db


def test_ingestion_marks_the_events_days_dirty(api_key, price):
    ingest(api_key, event(day=days_ago(1)), event(day=days_ago(3)))

    assert dirty_days() == [days_ago(3), days_ago(1)]


def test_each_ingestion_into_a_dirty_day_adds_a_mark_of_its_own(api_key, price):
    ingest(api_key, event())
    ingest(api_key, event())

    assert DirtyMark.objects.filter(day=days_ago(1)).count() == 2
    assert dirty_days() == [days_ago(1)]


def test_a_batch_of_only_duplicates_leaves_no_day_dirty(api_key, price):
    first = event()
    ingest(api_key, first)
    day_rebuild(day=days_ago(1))

    ingest(api_key, first)

    assert dirty_days() == []


def test_a_rebuild_clears_the_days_marker(api_key, price):
    ingest(api_key, event(day=days_ago(1)), event(day=days_ago(2)))

    day_rebuild(day=days_ago(1))

    assert dirty_days() == [days_ago(2)]


def test_a_rebuild_keeps_the_marker_when_the_day_was_dirtied_while_it_ran(api_key, price, monkeypatch):
    ingest(api_key, event())
    day = days_ago(1)
    rebuild_sql = rollup_services._rebuild_sql

    def late_event_arrives():
        # Runs after the rebuild deleted the day's marks: as if an ingestion committed just then.
        days_mark_dirty([day])
        return rebuild_sql()

    monkeypatch.setattr(rollup_services, "_rebuild_sql", late_event_arrives)
    day_rebuild(day=day)

    assert dirty_days() == [day]


def test_the_next_rebuild_clears_a_marker_bumped_during_the_last_one(api_key, price, monkeypatch):
    ingest(api_key, event())
    day = days_ago(1)
    rebuild_sql = rollup_services._rebuild_sql
    monkeypatch.setattr(rollup_services, "_rebuild_sql", lambda: days_mark_dirty([day]) or rebuild_sql())
    day_rebuild(day=day)
    monkeypatch.undo()

    day_rebuild(day=day)

    assert dirty_days() == []
