"""PostgreSQL's events table partitioned by month: idempotency across months, months created ahead
and on demand, and rows of a month without a partition kept in the default one until it exists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from apps.usage.models import EventKey, UsageEvent
from apps.usage.partitions import (
    DEFAULT,
    partition_months,
    partition_name,
    partitions_create_ahead,
    partitions_ensure,
)
from apps.usage.tasks import create_partitions_ahead
from tests.factories import EventPayloadFactory, UsageEventFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite keeps one events table"),
]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        return cursor.fetchone()[0]


def test_the_same_event_resent_a_month_later_is_a_duplicate_stored_once(send, price):
    with time_machine.travel(NOW, tick=False):
        event = EventPayloadFactory(event_id="req_01", timestamp="2026-11-20T11:00:00Z")
        assert send(event)["accepted"] == 1
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        assert send(event) == {"accepted": 0, "duplicates": 1, "rejected": [], "conflicts": []}
    assert UsageEvent.objects.count() == 1


def test_an_event_id_resent_dated_in_another_month_is_a_conflict_and_not_stored_twice(send, price):
    with time_machine.travel(NOW, tick=False):
        first = EventPayloadFactory(event_id="req_01", timestamp="2026-10-31T23:00:00Z")
        send(first)
        body = send({**first, "timestamp": "2026-11-01T01:00:00Z"})
    assert body["conflicts"] == [{"index": 0, "event_id": "req_01", "fields": ["timestamp"]}]
    assert list(UsageEvent.objects.values_list("day", flat=True)) == [date(2026, 10, 31)]
    assert _rows_in(partition_name(date(2026, 11, 1))) == 0
    assert EventKey.objects.get().day == date(2026, 10, 31)


def test_an_event_dated_in_a_month_without_a_partition_creates_it(send, price, settings):
    settings.INGEST_MAX_FUTURE_SECONDS = 400 * 86400
    with time_machine.travel(NOW, tick=False):
        body = send(EventPayloadFactory(timestamp="2027-09-03T10:00:00Z"))
    assert body["accepted"] == 1
    assert date(2027, 9, 1) in partition_months()
    assert _rows_in(partition_name(date(2027, 9, 1))) == 1


def test_an_event_saved_through_the_orm_waits_in_the_default_partition_until_its_month_exists(db):
    moment = datetime(2031, 5, 6, 7, 0, tzinfo=UTC)
    UsageEventFactory(timestamp=moment)
    assert _rows_in(DEFAULT) == 1

    with time_machine.travel(datetime(2031, 4, 1, tzinfo=UTC), tick=False):
        created = partitions_create_ahead()

    assert date(2031, 5, 1) in created
    assert (_rows_in(DEFAULT), _rows_in(partition_name(date(2031, 5, 1)))) == (0, 1)
    assert UsageEvent.objects.get().day == date(2031, 5, 6)


def test_the_daily_task_creates_the_coming_months(db, settings):
    settings.EVENT_PARTITIONS_AHEAD = 2
    with time_machine.travel(datetime(2032, 1, 15, tzinfo=UTC), tick=False):
        create_partitions_ahead.delay()
    assert {date(2032, 1, 1), date(2032, 2, 1), date(2032, 3, 1)} <= set(partition_months())
    assert date(2032, 4, 1) not in partition_months()


def test_a_day_rebuild_reads_only_its_months_partition(db):
    partitions_ensure([date(2026, 10, 1), date(2026, 11, 1)])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT count(*) FROM usage_usageevent WHERE day = '2026-11-20'")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert partition_name(date(2026, 11, 1)) in plan
    assert partition_name(date(2026, 10, 1)) not in plan
