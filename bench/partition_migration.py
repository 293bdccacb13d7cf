"""`python -m bench.partition_migration DATABASE_URL EVENTS`: time the in-place conversion of a
plain events table to the month-partitioned one, and the bytes per event before and after.

The database is recreated, migrated to just before the conversion, loaded with EVENTS events over
six months (SQL, as the other loaders), then migrated on. Every event, its key and the sums must
come through unchanged. Prints one JSON line of figures (docs/scaling.md records them).
"""

from __future__ import annotations

import os
import sys
import time

import orjson
import psycopg
from psycopg import sql

BEFORE = ("usage", "0011_event_keys_and_lean_indexes")
_SUMS = "count(*), sum(billed_cost), sum(input_tokens), count(DISTINCT event_id), min(id), max(id)"
_BYTES = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
WHERE c.relkind = 'r' AND (c.relname = 'usage_usageevent' OR c.relname LIKE 'usage_usageevent\\_%%'
                           OR c.relname = 'usage_eventkey')
"""


def _recreate(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def measure(url: str, events: int, *, batch: int | None = None) -> dict:
    _recreate(url)
    os.environ.update(DJANGO_SETTINGS_MODULE="attribution_site.settings", DATABASE_URL=url, LOG_LEVEL="WARNING")
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL"):
        os.environ.pop(name, None)
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from apps.org.models import Team
    from apps.usage import partitions
    from apps.usage.models import ApiKey

    from .event_rows import events_insert_sql

    call_command("migrate", *BEFORE, verbosity=0, interactive=False)
    team = Team.objects.create(slug="search", name="Search")
    key = ApiKey(team=team, name="load")
    key.set_new_key()
    key.save()
    today = timezone.now().date()
    values = {
        "api_key_id": "%(key)s",
        "event_id": "'evt-' || i",
        "timestamp": "ts",
        "day": "ts::date",
        "received_at": "ts",
        "provider": "'anthropic'",
        "model": "'claude-sonnet-4-5'",
        "input_tokens": "100 + i %% 3000",
        "output_tokens": "1 + i %% 700",
        "billed_cost": "(100 + i %% 3000) * 3000 + (1 + i %% 700) * 15000",
        "list_cost": "(100 + i %% 3000) * 3000 + (1 + i %% 700) * 15000",
        "team_tag": "'search'",
        "team_id": "%(team)s",
        "feature": "'feature-' || i %% 11",
        "trace_id": "CASE WHEN i %% 4 = 0 THEN 'trace-' || i ELSE '' END",
        "raw_tags": '\'{"team": "search"}\'::jsonb',  # the whole object, as events held then
    }
    source = (
        "(SELECT i, %(end)s::timestamptz - (i * 15552000.0 / %(count)s) * interval '1 second' AS ts "
        "FROM generate_series(1, %(count)s) AS i) AS e"
    )
    params = {"key": key.pk, "team": team.pk, "end": f"{today.isoformat()}T00:00:00Z", "count": events}
    with connection.cursor() as cursor:
        cursor.execute(events_insert_sql(values, source=source), params)
        cursor.execute("VACUUM ANALYZE usage_usageevent")
        cursor.execute(f"SELECT {_SUMS} FROM usage_usageevent")
        before = cursor.fetchone()
        cursor.execute(_BYTES)
        bytes_before = cursor.fetchone()[0]
    if batch:
        partitions.COPY_BATCH = batch
    started = time.perf_counter()
    run = partitions.events_table_partition(batch=batch or partitions.COPY_BATCH, log=lambda line: None)
    seconds = time.perf_counter() - started
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE usage_usageevent")
        cursor.execute("VACUUM ANALYZE usage_eventkey")
        cursor.execute(f"SELECT {_SUMS} FROM usage_usageevent")
        after = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM usage_eventkey k JOIN usage_usageevent e ON e.id = k.event_pk")
        keyed = cursor.fetchone()[0]
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'usage_usageevent'")
        kind = cursor.fetchone()[0]
        cursor.execute(_BYTES)
        bytes_after = cursor.fetchone()[0]
        cursor.execute(f"SELECT relname FROM pg_class WHERE starts_with(relname, '{partitions.NEW}')")
        leftovers = [name for (name,) in cursor.fetchall()]
    if after != before or keyed != events or kind != "p" or leftovers:
        raise SystemExit(
            f"conversion changed the events: {before} → {after}, {keyed} keyed, relkind {kind}, "
            f"names of the conversion's table left: {leftovers}"
        )
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "seconds_per_million": round(seconds * 1_000_000 / events, 1),
        "writes_waited_seconds": round(run["locked_seconds"], 3),
        "bytes_per_event_before": round(bytes_before / events),
        "bytes_per_event_after": round(bytes_after / events),
    }


if __name__ == "__main__":
    url, count = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else None
    print(orjson.dumps(measure(url, count, batch=batch)).decode())
