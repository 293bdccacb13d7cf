"""Storing rated event rows exactly once, and marking their days dirty, in few round trips.

Idempotency is EventKey's primary key (api_key, event_id), claimed with ON CONFLICT DO NOTHING in
the statement that inserts the events: the database, not a lookup, decides what is new, across
every month (the events table itself is partitioned by month on PostgreSQL, apps.usage.partitions).
Rows arrive in event_id order so that two batches sharing events take their key locks in the same
order and cannot deadlock. A batch holds each (api_key, event_id) once (events_ingest sees to it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.usage.models import DirtyMark, EventKey, UsageEvent
from apps.usage.partitions import SEQUENCE, partitions_ensure
from apps.usage.signals import days_dirtied

from .group_commit import GroupCommitter

# The stored columns, in the order of the rows ingest.py builds: every column of the model but its id.
COLUMNS = tuple(f.column for f in UsageEvent._meta.concrete_fields if not f.primary_key)
# Rows per INSERT … VALUES statement: keeps under SQLite's 32,766 bound parameters.
VALUES_CHUNK = 500
# From this many rows PostgreSQL gets them by COPY: building a long VALUES statement costs the
# web worker ~150 µs a row (parameter quoting), COPY ~10 µs (docs/benchmarks.md, "Profile").
COPY_FROM_ROWS = 50
STAGE = "usage_ingest_stage"

_EVENTS = UsageEvent._meta.db_table
_KEYS = EventKey._meta.db_table
_MARKS = DirtyMark._meta.db_table
_COLUMN_LIST = ", ".join(COLUMNS)
_KEY = COLUMNS.index("api_key_id"), COLUMNS.index("event_id")
_DAY = COLUMNS.index("day")


def _stored(returned: Iterable[tuple]) -> list[tuple[str, date]]:
    """(event_id, day) of each inserted row, whatever type the database hands the day back as."""
    return [(event_id, d if isinstance(d, date) else date.fromisoformat(d)) for event_id, d in returned]


def _values_sql(count: int) -> str:
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    values = ", ".join([row] * count)
    return f"INSERT INTO {_EVENTS} ({_COLUMN_LIST}) VALUES {values} RETURNING id, api_key_id, event_id, day"


def _claiming(source: str) -> str:
    """One PostgreSQL statement over the CTE `rows`: claim each row's key (an id from the events'
    sequence with it), insert the rows whose key was new, and mark each day inserted into dirty."""
    picked = ", ".join(f"r.{c}" for c in COLUMNS)
    return (
        f"WITH rows AS ({source}), "
        f"claimed AS (INSERT INTO {_KEYS} (api_key_id, event_id, day, event_pk) "
        f"SELECT api_key_id, event_id, day, nextval('{SEQUENCE}') FROM rows ORDER BY api_key_id, event_id "
        f"ON CONFLICT (api_key_id, event_id) DO NOTHING RETURNING api_key_id, event_id, event_pk), "
        f"inserted AS (INSERT INTO {_EVENTS} (id, {_COLUMN_LIST}) SELECT c.event_pk, {picked} FROM rows r "
        f"JOIN claimed c ON c.api_key_id = r.api_key_id AND c.event_id = r.event_id "
        f"RETURNING api_key_id, event_id, day), "
        f"marked AS (INSERT INTO {_MARKS} (day, marked_at) SELECT DISTINCT day, now() FROM inserted) "
        f"SELECT api_key_id, event_id, day FROM inserted"
    )


@functools.lru_cache(maxsize=256)
def _small_batch_sql(count: int) -> str:
    return _claiming(_typed_values(count))


def _typed_values(count: int) -> str:
    # Values in a CTE have no target column to take their type from: each says its own.
    types = [UsageEvent._meta.get_field(_field_name(c)).db_type(connection) for c in COLUMNS]
    row = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
    return f"SELECT * FROM (VALUES {', '.join([row] * count)}) AS v ({_COLUMN_LIST})"


def _field_name(column: str) -> str:
    return next(f.name for f in UsageEvent._meta.concrete_fields if f.column == column)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def rows_claim(rows: list[tuple]) -> list[tuple[int, str, date]]:
    """PostgreSQL, fewer than COPY_FROM_ROWS rows or a group commit's few requests: one statement
    (atomic on its own, so outside a transaction it needs no BEGIN/COMMIT round trips). Returns
    (api_key_id, event_id, day) of each row inserted; the rows' months must have their partitions."""
    with connection.cursor() as cursor:
        cursor.execute(_small_batch_sql(len(rows)), [value for row in rows for value in row])
        return [(key_id, event_id, _day(day)) for key_id, event_id, day in cursor.fetchall()]


def rows_months_ensure(rows: list[tuple]) -> None:
    partitions_ensure(_day(row[_DAY]) for row in rows)  # a month seen first here (checked in memory)


def row_key(row: tuple) -> tuple[int, str]:
    """A row's idempotency key: (api_key_id, event_id)."""
    return row[_KEY[0]], row[_KEY[1]]


GROUP_COMMITTER = GroupCommitter(claim=rows_claim, months_ensure=rows_months_ensure, row_key=row_key)


def _store_postgresql(rows: list[tuple]) -> list[tuple[str, date]]:
    if len(rows) < COPY_FROM_ROWS:
        if settings.INGEST_GROUP_COMMIT and not connection.in_atomic_block:
            return GROUP_COMMITTER.store(rows)
        rows_months_ensure(rows)
        return [(event_id, day) for _, event_id, day in rows_claim(rows)]
    rows_months_ensure(rows)
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {_COLUMN_LIST} FROM {_EVENTS} WITH NO DATA"
        )
        with cursor.copy(f"COPY {STAGE} ({_COLUMN_LIST}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_claiming(f"SELECT * FROM {STAGE}"))
        stored = _stored((event_id, day) for _, event_id, day in cursor.fetchall())
        cursor.execute(f"DELETE FROM {STAGE}")  # an enclosing transaction may store another batch
        return stored


def _store_values(rows: list[tuple]) -> list[tuple[str, date]]:
    """SQLite: claim the keys, insert the rows whose key was new, then note each event's id on its key."""
    stored: list[tuple[str, date]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), VALUES_CHUNK):
            chunk = rows[start : start + VALUES_CHUNK]
            cursor.execute(
                f"INSERT INTO {_KEYS} (api_key_id, event_id, day) VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))} "
                f"ON CONFLICT (api_key_id, event_id) DO NOTHING RETURNING api_key_id, event_id",
                [value for row in chunk for value in (row[_KEY[0]], row[_KEY[1]], row[_DAY])],
            )
            claimed = set(cursor.fetchall())
            chunk = [row for row in chunk if (row[_KEY[0]], row[_KEY[1]]) in claimed]
            if not chunk:
                continue
            cursor.execute(_values_sql(len(chunk)), [value for row in chunk for value in row])
            inserted = cursor.fetchall()
            cursor.executemany(
                f"UPDATE {_KEYS} SET event_pk = %s WHERE api_key_id = %s AND event_id = %s",
                [(pk, api_key_id, event_id) for pk, api_key_id, event_id, _ in inserted],
            )
            stored += _stored((event_id, day) for _, _, event_id, day in inserted)
        _marks_insert(day for _, day in stored)
    return stored


def events_store(rows: list[tuple], *, refresh_days: bool = True) -> dict[str, date]:
    """Insert the rows (sorted by event_id) that are new, mark their days dirty, and return the
    day of each inserted row by its event_id (a row already stored is left out). `refresh_days`
    announces the days (`days_dirtied`) for an in-process refresh; a bulk load that refreshes them
    itself at the end says False."""
    if not rows:
        return {}
    stored = dict(_store_postgresql(rows) if connection.vendor == "postgresql" else _store_values(rows))
    if refresh_days:
        _announce(stored.values())
    return stored


def _marks_insert(days: Iterable[date]) -> list[date]:
    days = sorted(set(days))
    if days:
        DirtyMark.objects.bulk_create([DirtyMark(day=day, marked_at=timezone.now()) for day in days])
    return days


def _announce(days: Iterable[date]) -> None:
    days = sorted(set(days))
    if days:
        transaction.on_commit(lambda: days_dirtied.send(sender=DirtyMark, days=days))


def days_mark_dirty(days: Iterable[date]) -> None:
    """Record that these days' rollups are stale (in the caller's transaction)."""
    _announce(_marks_insert(days))
