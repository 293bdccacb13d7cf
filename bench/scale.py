"""Scale benchmark (`python -m bench scale`): BENCH_SCALE_EVENTS events over twelve months in the
partitioned table, with their idempotency keys; bytes per event, the day rebuild, and archiving
and restoring the oldest month. Every figure is checked (rows and billed totals exact)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.rollups import services as rollups
from apps.usage.archive import month_archive, month_restore
from apps.usage.models import UsageEvent
from apps.usage.partitions import partitions_ensure
from apps.usage.selectors import next_month
from apps.usage.services import days_mark_dirty, month_close_record

from . import rollup
from .checks import require, require_equal
from .events import api_key_new, models_check, registry_create

DAYS = 365
_BYTES = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
WHERE c.relkind = 'r' AND (c.relname LIKE 'usage\\_usageevent\\_%%' OR c.relname = 'usage_eventkey')
"""


@dataclass
class ScaleFigures:
    events: int
    load_seconds: float
    bytes_per_event: float
    rebuild_events_per_s: float
    month_events: int
    archive_events_per_s: float
    restore_events_per_s: float


def _month_totals(month: date) -> tuple[int, object]:
    events = UsageEvent.objects.filter(day__gte=month, day__lt=next_month(month))
    return events.count(), events.aggregate(total=Sum("billed_cost"))["total"]


def scale_run(config, archive_dir) -> ScaleFigures:
    registry_create()
    models_check()
    key_id, _ = api_key_new("bench-scale")
    today = timezone.now().date()
    days = [today - timedelta(days=DAYS - n) for n in range(DAYS)]
    partitions_ensure(days)
    print(f"  loading {config.scale_events} events over {DAYS} days, with their keys …", flush=True)
    start = time.perf_counter()
    rollup._events_load(SimpleNamespace(rollup_events=config.scale_events, rollup_groups=5_000), key_id, days)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO usage_eventkey (api_key_id, event_id, day, event_pk) "
            "SELECT api_key_id, event_id, day, id FROM usage_usageevent"
        )
        cursor.execute("VACUUM ANALYZE usage_eventkey")
        cursor.execute(_BYTES)
        size = cursor.fetchone()[0]
    load_seconds = time.perf_counter() - start
    print(f"    {load_seconds:.1f} s; {size / config.scale_events:.0f} bytes per event", flush=True)

    rebuild_days = days[-4:-1]
    with transaction.atomic():
        days_mark_dirty(rebuild_days)
    rates = []
    for day in rebuild_days:
        count = UsageEvent.objects.filter(day=day).count()
        began = time.perf_counter()
        rollups.day_rebuild(day=day)
        rates.append(count / (time.perf_counter() - began))
    print(f"  day rebuild: {statistics.median(rates):,.0f} events/s (median of {len(rates)} days)", flush=True)

    month = next_month(days[0].replace(day=1))  # the oldest whole month
    rows, billed = _month_totals(month)
    month_close_record(month=month)
    began = time.perf_counter()
    archived = month_archive(month=month)
    archive_seconds = time.perf_counter() - began
    require_equal((archived.rows, archived.billed_cost), (rows, billed), "archived month's rows and billed total")
    require_equal(_month_totals(month)[0], 0, "events left in the archived month")
    print(f"  archive {month:%Y-%m}: {rows} events in {archive_seconds:.1f} s", flush=True)
    began = time.perf_counter()
    month_restore(location=archived.location)
    restore_seconds = time.perf_counter() - began
    require_equal(_month_totals(month), (rows, billed), "restored month's rows and billed total")
    print(f"  restore: {restore_seconds:.1f} s", flush=True)
    require(rows > 0, "the oldest month holds events")
    return ScaleFigures(
        events=config.scale_events,
        load_seconds=load_seconds,
        bytes_per_event=size / config.scale_events,
        rebuild_events_per_s=statistics.median(rates),
        month_events=rows,
        archive_events_per_s=rows / archive_seconds,
        restore_events_per_s=rows / restore_seconds,
    )
