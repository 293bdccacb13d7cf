"""Ingestion marks the UTC days it added events to as dirty, so their rollups get rebuilt."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.usage.models import DirtyMark
from tests.factories import EventPayloadFactory

pytestmark = pytest.mark.django_db


def at_noon(days_ago: int) -> str:
    day = (timezone.now() - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()


def dirty() -> dict:
    """Marks per day."""
    return dict(Counter(DirtyMark.objects.values_list("day", flat=True)))


def day_of(timestamp: str):
    return datetime.fromisoformat(timestamp).date()


def test_it_marks_each_touched_utc_day_dirty_once(send, price):
    two_days_ago, five_days_ago = at_noon(2), at_noon(5)
    send(
        EventPayloadFactory(timestamp=two_days_ago),
        EventPayloadFactory(timestamp=two_days_ago),
        EventPayloadFactory(timestamp=five_days_ago),
    )
    assert dirty() == {day_of(two_days_ago): 1, day_of(five_days_ago): 1}


def test_new_events_on_a_dirty_day_add_a_mark_of_their_own(send, price):
    timestamp = at_noon(2)
    send(EventPayloadFactory(timestamp=timestamp))
    send(EventPayloadFactory(timestamp=timestamp))
    assert dirty() == {day_of(timestamp): 2}


def test_a_resend_of_duplicates_leaves_the_days_alone(send, price):
    event = EventPayloadFactory(timestamp=at_noon(2))
    send(event)
    send(event)
    assert dirty() == {day_of(event["timestamp"]): 1}


def test_a_batch_of_only_rejected_events_marks_no_day(send, price):
    send(EventPayloadFactory(timestamp=at_noon(2), output_tokens=-1), status=422)
    assert dirty() == {}


def test_only_the_days_of_newly_inserted_events_are_marked(send, price):
    old = EventPayloadFactory(timestamp=at_noon(5))
    send(old)
    DirtyMark.objects.all().delete()  # as a rollup rebuild would
    new = EventPayloadFactory(timestamp=at_noon(2))
    send(old, new)
    assert dirty() == {day_of(new["timestamp"]): 1}
