"""Storing rated event rows exactly once, and marking their days dirty, in few round trips.

Idempotency is the unique constraint on (api_key, event_id) with ON CONFLICT DO NOTHING: the
database, not a lookup, decides what is new. Rows arrive in event_id order so that two batches
sharing events take their row locks in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from apps.usage.models import DirtyMark, UsageEvent
from apps.usage.signals import days_dirtied

# The stored columns, in the order of the rows ingest.py builds: every column of the model but its id.
COLUMNS = tuple(f.column for f in UsageEvent._meta.concrete_fields if not f.primary_key)
# Rows per INSERT … VALUES statement: keeps under SQLite's 32,766 bound parameters.
VALUES_CHUNK = 500
# From this many rows PostgreSQL gets them by COPY: building a long VALUES statement costs the
# web worker ~150 µs a row (parameter quoting), COPY ~10 µs (docs/benchmarks.md, "Profile").
COPY_FROM_ROWS = 50
STAGE = "usage_ingest_stage"

_EVENTS = UsageEvent._meta.db_table
_MARKS = DirtyMark._meta.db_table
_COLUMN_LIST = ", ".join(COLUMNS)
_ON_CONFLICT = "ON CONFLICT (api_key_id, event_id) DO NOTHING RETURNING event_id, day"


def _stored(returned: Iterable[tuple]) -> list[tuple[str, date]]:
    """(event_id, day) of each inserted row, whatever type the database hands the day back as."""
    return [(event_id, d if isinstance(d, date) else date.fromisoformat(d)) for event_id, d in returned]


def _values_sql(count: int) -> str:
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    return f"INSERT INTO {_EVENTS} ({_COLUMN_LIST}) VALUES {', '.join([row] * count)} {_ON_CONFLICT}"


def _marking(insert_sql: str) -> str:
    """One PostgreSQL statement: the insert, and a dirty mark per day it inserted into."""
    return (
        f"WITH inserted AS ({insert_sql}), "
        f"marked AS (INSERT INTO {_MARKS} (day, marked_at) SELECT DISTINCT day, now() FROM inserted) "
        f"SELECT event_id, day FROM inserted"
    )


def _store_postgresql(rows: list[tuple]) -> list[tuple[str, date]]:
    with connection.cursor() as cursor:
        if len(rows) < COPY_FROM_ROWS:
            # A single statement is atomic on its own: no BEGIN/COMMIT round trips.
            cursor.execute(_marking(_values_sql(len(rows))), [value for row in rows for value in row])
            return _stored(cursor.fetchall())
        with transaction.atomic():
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DELETE ROWS AS "
                f"SELECT {_COLUMN_LIST} FROM {_EVENTS} WITH NO DATA"
            )
            with cursor.copy(f"COPY {STAGE} ({_COLUMN_LIST}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                _marking(f"INSERT INTO {_EVENTS} ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {STAGE} "
                         f"ORDER BY event_id {_ON_CONFLICT}")
            )  # fmt: skip
            stored = _stored(cursor.fetchall())
            cursor.execute(f"DELETE FROM {STAGE}")  # an enclosing transaction may store another batch
            return stored


def _store_values(rows: list[tuple]) -> list[tuple[str, date]]:
    stored: list[tuple[str, date]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), VALUES_CHUNK):
            chunk = rows[start : start + VALUES_CHUNK]
            cursor.execute(_values_sql(len(chunk)), [value for row in chunk for value in row])
            stored += _stored(cursor.fetchall())
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
