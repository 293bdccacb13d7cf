"""The usage events table partitioned by month on PostgreSQL: creating months ahead and on demand,
converting an existing table in place, and dropping or re-creating one month.

Each month of `day` is its own table (`usage_usageevent_y2026m01`), so archiving a month is a
DROP TABLE and the day rebuild reads one partition. SQLite keeps one table: every function here
does nothing there. Idempotency does not rely on the partitions: EventKey holds every key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .models import EventKey, UsageEvent
from .selectors import month_start, next_month

logger = logging.getLogger(__name__)

EVENTS = UsageEvent._meta.db_table
KEYS = EventKey._meta.db_table
SEQUENCE = f"{EVENTS}_id_seq"
# Catches a row of a month without its own partition (an event saved through the ORM, say), so
# no insert ever fails; creating that month's partition moves its rows out (_create).
DEFAULT = f"{EVENTS}_default"
# Rows copied per transaction when an existing table is converted: about a second's work each,
# so ingestion (which keeps writing to the old table meanwhile) never waits longer.
COPY_BATCH = 50_000
# The final step copies what arrived during the copy under a lock: it starts once so few rows remain.
SWAP_BELOW = 5_000

# The indexes of the partitioned table (names as in UsageEvent.Meta and the model's state).
INDEXES = {
    "usage_event_day": "(day)",
    "usage_event_team_id": "(team_id, id)",
    "usage_event_trace": "(trace_id) WHERE trace_id <> ''",
}

_CHILDREN = "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass"

# Months known to have a partition, per process: ingestion checks here before asking the database.
_known: set[date] = set()


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def partition_name(month: date) -> str:
    return f"{EVENTS}_y{month:%Y}m{month:%m}"


def is_partitioned() -> bool:
    if not is_postgresql():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind FROM pg_class WHERE relname = %s AND relnamespace = 'public'::regnamespace", [EVENTS]
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partition_months() -> list[date]:
    """The months that have a partition, oldest first (empty on SQLite)."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(_CHILDREN, [EVENTS])
        names = [row[0] for row in cursor.fetchall() if row[0] != DEFAULT]
    months = []
    for name in names:
        suffix = name.removeprefix(f"{EVENTS}_y")
        months.append(date(int(suffix[:4]), int(suffix[5:7]), 1))
    return sorted(months)


def _create(month: date) -> bool:
    """Create the month's partition unless it exists; True when it was created. Rows of the month
    that landed in the default partition meanwhile (written by a path that did not ask for the
    partition first) move into it."""
    name, start, end = partition_name(month), month.isoformat(), next_month(month).isoformat()
    bounds = f"FOR VALUES FROM ('{start}') TO ('{end}')"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
            if not cursor.fetchone()[0]:
                return False
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE day >= %s AND day < %s)", [start, end])
            if not cursor.fetchone()[0]:
                cursor.execute(f'CREATE TABLE "{name}" PARTITION OF {EVENTS} {bounds}')
                return True
            cursor.execute(f"LOCK TABLE {EVENTS} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                f'CREATE TABLE "{name}" (LIKE {EVENTS} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)'
            )
            cursor.execute(
                f"WITH moved AS (DELETE FROM {DEFAULT} WHERE day >= %s AND day < %s RETURNING *) "
                f'INSERT INTO "{name}" SELECT * FROM moved',
                [start, end],
            )
            cursor.execute(f'ALTER TABLE {EVENTS} ATTACH PARTITION "{name}" {bounds}')
            return True
    except DatabaseError:
        # Another process created it between the check and the CREATE: it exists, which is all we need.
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if not cursor.fetchone()[0]:
                raise
        return False


def partitions_ensure(months: Iterable[date]) -> list[date]:
    """Make sure each month (any day of it) has a partition; return the months created."""
    if not is_postgresql():
        return []
    wanted = sorted({month_start(m) for m in months} - _known)
    if not wanted or not is_partitioned():
        return []
    created = [month for month in wanted if _create(month)]
    _known.update(wanted)
    return created


def partitions_create_ahead(*, today: date | None = None) -> list[date]:
    """Partitions from the oldest month ingestion accepts to EVENT_PARTITIONS_AHEAD months ahead,
    so an event dated in a new month never waits on a CREATE TABLE (beat runs this daily,
    `migrate` after every run)."""
    today = today or timezone.now().date()
    month = month_start(today - timedelta(days=settings.INGEST_MAX_EVENT_AGE_DAYS))
    last = month_start(today)
    for _ in range(settings.EVENT_PARTITIONS_AHEAD):
        last = next_month(last)
    months = []
    while month <= last:
        months.append(month)
        month = next_month(month)
    return partitions_ensure(months)


def partition_drop(month: date) -> None:
    """Drop the month's partition with its events (apps.usage.archive has written them out first)."""
    with connection.cursor() as cursor:
        # Foreign-key checks still deferred in this transaction would block the DROP: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(month)}"')
    _known.discard(month)


def forget_known() -> None:
    _known.clear()


# --- converting an existing table in place -------------------------------------------------------

NEW = f"{EVENTS}_next"


def _execute(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def _copy(first: int, last: int) -> int:
    """Copy the events with ids in (first, last] and their keys; one transaction."""
    with transaction.atomic():
        copied = _execute(
            f"WITH copied AS (INSERT INTO {NEW} SELECT * FROM {EVENTS} WHERE id > %s AND id <= %s "
            f"RETURNING api_key_id, event_id, day, id) "
            f"INSERT INTO {KEYS} (api_key_id, event_id, day, event_pk) SELECT * FROM copied "
            f"ON CONFLICT (api_key_id, event_id) DO NOTHING RETURNING 1",
            [first, last],
        )
    return len(copied)


def events_table_partition(*, batch: int = COPY_BATCH, log: Callable[[str], None] = logger.info) -> dict:
    """Turn the plain events table into one partitioned by month, in place, without stopping
    ingestion for more than a moment: the rows are copied in batches of `batch` ids (each its own
    transaction) while the old table keeps taking events, then what arrived meanwhile is copied
    under a lock and the tables swap names. Returns figures of the run (rows, seconds).

    Events re-rated or re-attributed during the copy keep the values they had when copied: run
    no re-rating meanwhile (docs/scaling.md, "Migrating an existing database").
    """
    if not is_postgresql() or is_partitioned():
        return {"rows": 0, "seconds": 0.0}
    started = time.monotonic()
    (bounds,) = _execute(f"SELECT min(day), max(day), coalesce(max(id), 0) FROM {EVENTS}")
    first_day, last_day, top = bounds
    with transaction.atomic():
        _execute(f"DROP TABLE IF EXISTS {NEW}")
        _execute(
            f"CREATE TABLE {NEW} (LIKE {EVENTS} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE) "
            f"PARTITION BY RANGE (day)"
        )
        _execute(f"ALTER TABLE {NEW} ADD CONSTRAINT {NEW}_pkey PRIMARY KEY (id, day)")
        for name, definition in _execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [EVENTS],
        ):
            _execute(f'ALTER TABLE {NEW} ADD CONSTRAINT "{name}" {definition}')
        for name, columns in INDEXES.items():
            _execute(f"CREATE INDEX {name}_next ON {NEW} {columns}")
        _execute(f"DROP SEQUENCE IF EXISTS {NEW}_id_seq")
        _execute(f"CREATE SEQUENCE {NEW}_id_seq")
        _execute(f"ALTER TABLE {NEW} ALTER COLUMN id SET DEFAULT nextval('{NEW}_id_seq')")
        today = timezone.now().date()
        month = month_start(min(first_day or today, today - timedelta(days=settings.INGEST_MAX_EVENT_AGE_DAYS)))
        last = month_start(max(last_day or today, today))
        for _ in range(settings.EVENT_PARTITIONS_AHEAD):
            last = next_month(last)
        _execute(f"CREATE TABLE {NEW}_default PARTITION OF {NEW} DEFAULT")
        while month <= last:
            _execute(
                f'CREATE TABLE "{partition_name(month).replace(EVENTS, NEW, 1)}" PARTITION OF {NEW} '
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
            )
            month = next_month(month)
    copied, done = 0, 0
    while True:
        while done < top:
            copied += _copy(done, min(done + batch, top))
            done = min(done + batch, top)
            log(f"copied events up to id {done} of {top}")
        (latest,) = _execute(f"SELECT coalesce(max(id), 0) FROM {EVENTS}")[0]
        if latest - done < SWAP_BELOW:
            break
        top = latest  # ingestion went on during the copy: copy its rows too, still without a lock
    locked = time.monotonic()
    with transaction.atomic():
        _execute(f"LOCK TABLE {EVENTS} IN ACCESS EXCLUSIVE MODE")
        (latest,) = _execute(f"SELECT coalesce(max(id), 0) FROM {EVENTS}")[0]
        if latest > done:
            copied += _copy(done, latest)
        _execute(f"SELECT setval('{NEW}_id_seq', %s, %s)", [max(latest, 1), latest > 0])
        _execute(f"DROP TABLE {EVENTS}")
        _execute(f"ALTER TABLE {NEW} RENAME TO {EVENTS}")
        _execute(f"ALTER TABLE {EVENTS} RENAME CONSTRAINT {NEW}_pkey TO {EVENTS}_pkey")
        for name in INDEXES:
            _execute(f"ALTER INDEX {name}_next RENAME TO {name}")
        _execute(f"ALTER SEQUENCE {NEW}_id_seq RENAME TO {SEQUENCE}")
        _execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY {EVENTS}.id")
        for (partition,) in _execute(_CHILDREN, [EVENTS]):
            _execute(f'ALTER TABLE "{partition}" RENAME TO "{partition.replace(NEW, EVENTS, 1)}"')
        # The partitions' own indexes were named after the new table (usage_usageevent_next_y…_pkey).
        for (index,) in _execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('i', 'I') AND starts_with(relname, %s)", [f"{NEW}_"]
        ):
            _execute(f'ALTER INDEX "{index}" RENAME TO "{index.replace(NEW, EVENTS, 1)}"')
    seconds = time.monotonic() - started
    if copied:
        log(f"partitioned {copied} events in {seconds:.1f} s (writes waited {time.monotonic() - locked:.2f} s)")
    forget_known()
    return {"rows": copied, "seconds": seconds, "locked_seconds": time.monotonic() - locked}


def events_table_slim_sqlite() -> None:
    """SQLite keeps one events table: bring its indexes to the model's (no per-foreign-key
    indexes, no (key, event_id) unique index: EventKey holds the keys) and fill EventKey."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL", [EVENTS]
        )
        for (name,) in cursor.fetchall():
            if name not in INDEXES:
                cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("DROP INDEX IF EXISTS usage_event_trace")
        cursor.execute(f"CREATE INDEX usage_event_trace ON {EVENTS} {INDEXES['usage_event_trace']}")
        cursor.execute(
            f"INSERT INTO {KEYS} (api_key_id, event_id, day, event_pk) SELECT api_key_id, event_id, day, id "
            f"FROM {EVENTS} WHERE true ON CONFLICT (api_key_id, event_id) DO NOTHING"
        )
