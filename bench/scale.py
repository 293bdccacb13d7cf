"""Scale benchmark (`python -m bench scale`): BENCH_SCALE_EVENTS events over twelve months in the
partitioned table, with their idempotency keys; bytes per event, the day rebuild (against the
rollup benchmark's smaller table, rebuilt first in the same run), and archiving and restoring the
oldest month. Every figure is checked (rows and billed totals exact)."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

import orjson
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
from .client import ClientPool, LoadResult
from .database import bench_environment
from .events import api_key_new, events_generate, models_check, registry_create
from .server import WebServer

DAYS = 365


# The same events in the leanest row PostgreSQL can hold them in: strings that repeat (provider,
# model, tier, outcome, door, price; feature, customer, agent) as 4-byte ids, token counts and
# foreign keys in 4 bytes, no raw tags or attributes, and a BRIN index on day in place of its
# B-tree. It measures how far a new row layout could go, not a layout the product stores.
_LEAN = """
CREATE TEMP TABLE lean_kinds AS
    SELECT row_number() OVER ()::int AS id, k.* FROM (
        SELECT DISTINCT provider, model, service_tier, outcome, source, price_id FROM {month}) AS k;
CREATE TEMP TABLE lean_events (
    id bigint NOT NULL, timestamp timestamptz NOT NULL, received_at timestamptz NOT NULL,
    list_cost bigint NOT NULL, billed_cost bigint NOT NULL, cache_savings bigint NOT NULL,
    day date NOT NULL, api_key_id int NOT NULL, kind_id int NOT NULL, latency_ms int,
    input_tokens int NOT NULL, output_tokens int NOT NULL, cache_read_tokens int NOT NULL,
    cache_write_tokens int NOT NULL, cache_write_1h_tokens int NOT NULL, reasoning_tokens int NOT NULL,
    team_id int, product_id int, environment_id int, feature_id int, customer_id int, agent_id int,
    flags smallint NOT NULL, event_id text NOT NULL, trace_id text NOT NULL);
INSERT INTO lean_events
    SELECT e.id, e.timestamp, e.received_at, e.list_cost, e.billed_cost, e.cache_savings, e.day, e.api_key_id,
        k.id, e.latency_ms, e.input_tokens, e.output_tokens, e.cache_read_tokens, e.cache_write_tokens,
        e.cache_write_1h_tokens, e.reasoning_tokens, e.team_id, e.product_id, e.environment_id,
        hashtext(e.feature), hashtext(e.customer), NULLIF(hashtext(e.agent), hashtext('')),
        (e.unpriced::int + 2 * e.usage_missing::int)::smallint, e.event_id, e.trace_id
    FROM {month} AS e JOIN lean_kinds AS k
        ON (k.provider, k.model, k.service_tier, k.outcome, k.source)
            = (e.provider, e.model, e.service_tier, e.outcome, e.source)
        AND k.price_id IS NOT DISTINCT FROM e.price_id
    ORDER BY e.day, e.id;
CREATE INDEX ON lean_events USING brin (day);
CREATE INDEX ON lean_events (id);
CREATE INDEX ON lean_events (team_id, id);
CREATE INDEX ON lean_events (trace_id) WHERE trace_id <> '';
"""


@dataclass
class BytesPerEvent:
    heap: float  # the events' partitions (with their TOAST)
    indexes: float  # the events' indexes
    keys: float  # the idempotency keys table with its index
    # One month copied into the lean layout (_LEAN): its heap and indexes.
    lean_heap: float
    lean_indexes: float

    @property
    def total(self) -> float:
        return self.heap + self.indexes + self.keys

    @property
    def lean_total(self) -> float:
        return self.lean_heap + self.lean_indexes + self.keys


def _bytes_per_event(events: int, month: date) -> BytesPerEvent:
    from apps.usage.partitions import partition_name

    children = "SELECT inhrelid FROM pg_inherits WHERE inhparent = 'usage_usageevent'::regclass"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT sum(pg_table_size(inhrelid)) FROM ({children}) AS c), "
            f"(SELECT sum(pg_indexes_size(inhrelid)) FROM ({children}) AS c), "
            "pg_total_relation_size('usage_eventkey')"
        )
        heap, indexes, keys = (float(size) / events for size in cursor.fetchone())
        cursor.execute(_LEAN.format(month=partition_name(month)))
        cursor.execute("VACUUM ANALYZE lean_events")
        cursor.execute("SELECT count(*), pg_table_size('lean_events'), pg_indexes_size('lean_events') FROM lean_events")
        rows, lean_heap, lean_indexes = cursor.fetchone()
        cursor.execute("DROP TABLE lean_events, lean_kinds")
    require(rows > 0, "the lean copy holds the month's events")
    return BytesPerEvent(heap, indexes, keys, lean_heap=lean_heap / rows, lean_indexes=lean_indexes / rows)


@dataclass
class PagesAtScale:
    month: str
    month_events: int
    refresh_seconds: float  # day_refresh of the month's days, one after another
    team: str
    team_ms: tuple[float, float]  # p50, p95
    overview_ms: tuple[float, float]


@dataclass
class ScaleFigures:
    events: int
    load_seconds: float
    bytes_per_event: BytesPerEvent
    rebuild_events_per_s: float
    # The rollup benchmark's events (BENCH_ROLLUP_EVENTS over BENCH_ROLLUP_DAYS) rebuilt the same
    # way, on the empty table before the load: the smaller-scale figure the target compares with.
    rebuild_baseline_events_per_s: float
    month_events: int
    archive_events_per_s: float
    archive_bytes_per_event: float  # the month's Parquet file (zstd) over its events
    restore_events_per_s: float
    # Single events (req/s, p99 ms) for as long as the archive took: alone, then while the month
    # was archived a second time (taking archive_again_seconds).
    ingest_alone: tuple[float, float]
    ingest_archiving: tuple[float, float]
    archive_again_seconds: float
    pages: PagesAtScale


def _month_totals(month: date) -> tuple[int, object]:
    events = UsageEvent.objects.filter(day__gte=month, day__lt=next_month(month))
    return events.count(), events.aggregate(total=Sum("billed_cost"))["total"]


def _rebuild_rates(days: list[date]) -> list[float]:
    """Events per second of `day_rebuild`, one figure per day."""
    with transaction.atomic():
        days_mark_dirty(days)
    rates = []
    for day in days:
        count = UsageEvent.objects.filter(day=day).count()
        began = time.perf_counter()
        rollups.day_rebuild(day=day)
        rates.append(count / (time.perf_counter() - began))
    return rates


def _rebuild_baseline(config, key_id: int, today: date) -> float:
    """The day rebuild's rate on the rollup benchmark's events and days, measured as at scale (the
    median per day over its passes), then the table emptied for the scale load."""
    days = [today - timedelta(days=config.rollup_days - n) for n in range(config.rollup_days)]
    partitions_ensure(days)
    print(f"  baseline: the rollup benchmark's {config.rollup_events} events over {len(days)} days …", flush=True)
    rollup._events_load(config, key_id, days)
    rates = [rate for _ in range(config.rollup_repeat) for rate in _rebuild_rates(days)]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE usage_usageevent, usage_dirtymark, rollups_dailyrollup, rollups_dailybreakdown")
    print(
        f"    day rebuild: {statistics.median(rates):,.0f} events/s (median of {len(rates)} day rebuilds)", flush=True
    )
    return statistics.median(rates)


def scale_run(config, archive_dir) -> ScaleFigures:
    registry_create()
    models_check()
    key_id, _ = api_key_new("bench-scale")
    today = timezone.now().date()
    baseline = _rebuild_baseline(config, key_id, today)
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
    load_seconds = time.perf_counter() - start
    month = next_month(days[0].replace(day=1))  # the oldest whole month
    size = _bytes_per_event(config.scale_events, month)
    print(
        f"    {load_seconds:.1f} s; {size.total:.0f} bytes per event (heap {size.heap:.0f}, indexes "
        f"{size.indexes:.0f}, keys {size.keys:.0f}); in the lean layout {size.lean_total:.0f} (heap "
        f"{size.lean_heap:.0f}, indexes {size.lean_indexes:.0f}, keys {size.keys:.0f})",
        flush=True,
    )

    rates = _rebuild_rates(days[-4:-1])
    print(
        f"  day rebuild: {statistics.median(rates):,.0f} events/s (median of {len(rates)} days), "
        f"{statistics.median(rates) / baseline:.0%} of the rollup benchmark's {baseline:,.0f}",
        flush=True,
    )

    rows, billed = _month_totals(month)
    month_close_record(month=month)
    began = time.perf_counter()
    archived = month_archive(month=month)
    archive_seconds = time.perf_counter() - began
    require_equal((archived.rows, archived.billed_cost), (rows, billed), "archived month's rows and billed total")
    require_equal(_month_totals(month)[0], 0, "events left in the archived month")
    archive_bytes = os.path.getsize(archived.location) / rows
    print(
        f"  archive {month:%Y-%m}: {rows} events in {archive_seconds:.1f} s, {archive_bytes:.0f} bytes per event",
        flush=True,
    )
    began = time.perf_counter()
    month_restore(location=archived.location)
    restore_seconds = time.perf_counter() - began
    require_equal(_month_totals(month), (rows, billed), "restored month's rows and billed total")
    print(f"  restore: {restore_seconds:.1f} s", flush=True)
    require(rows > 0, "the oldest month holds events")
    alone, archiving, again_seconds = _ingest_while_archiving(config, month, window_s=max(5.0, archive_seconds))
    pages = _pages_at_scale(config, days)
    return ScaleFigures(
        events=config.scale_events,
        load_seconds=load_seconds,
        bytes_per_event=size,
        rebuild_events_per_s=statistics.median(rates),
        rebuild_baseline_events_per_s=baseline,
        month_events=rows,
        archive_events_per_s=rows / archive_seconds,
        archive_bytes_per_event=archive_bytes,
        restore_events_per_s=rows / restore_seconds,
        ingest_alone=(alone.requests / alone.seconds, alone.percentile_ms(99)),
        ingest_archiving=(archiving.requests / archiving.seconds, archiving.percentile_ms(99)),
        archive_again_seconds=again_seconds,
        pages=pages,
    )


def _pages_at_scale(config, days: list[date]) -> PagesAtScale:
    """The team page (the month's largest team) and the overview of last month, its days rolled up
    with `day_refresh`, timed as the page benchmark times them (bench.pages.measure)."""
    from django.test import Client

    from apps.allocation.services import dirty_day_refresh
    from attribution_site.periods import MonthPeriod

    from .pages import company
    from .pages.measure import page_time
    from .pages.run import _largest_team

    month = (timezone.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    month_days = [day for day in days if day.replace(day=1) == month]
    print(f"  pages: day_refresh of {month:%Y-%m}'s {len(month_days)} days …", flush=True)
    with transaction.atomic():
        days_mark_dirty(month_days)
    began = time.perf_counter()
    for day in month_days:
        dirty_day_refresh(day=day)
    refresh_seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        for table in ("rollups_dailyrollup", "rollups_dailybreakdown", "allocation_allocationresult"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")  # the refresh's dirty buffers, written before the timing
    team, _ = _largest_team(MonthPeriod.parse(f"{month:%Y-%m}"))
    client = Client()
    client.force_login(company.staff_user())
    timings = {}
    for name, path in (
        ("team", f"/teams/{team.slug}/?month={month:%Y-%m}"),
        ("overview", f"/overview/?month={month:%Y-%m}"),
    ):
        timing = page_time(
            client, name, path, warmup=config.pages_warmup, repeat=config.pages_requests, budget_s=config.pages_seconds
        )
        timings[name] = (timing.percentile_ms(50), timing.percentile_ms(95))
        print(f"    {path}: p50 {timings[name][0]:.0f} ms, p95 {timings[name][1]:.0f} ms", flush=True)
    return PagesAtScale(
        month=f"{month:%Y-%m}",
        month_events=_month_totals(month)[0],
        refresh_seconds=refresh_seconds,
        team=team.slug,
        team_ms=timings["team"],
        overview_ms=timings["overview"],
    )


def _ingest_while_archiving(config, month: date, *, window_s: float) -> tuple[LoadResult, LoadResult, float]:
    """Single events from the ingestion benchmark's clients through gunicorn for `window_s`, first
    alone, then while the month is archived again; every event must be stored once."""
    key_id, key = api_key_new("bench-scale-live")
    count = int(window_s * 3000) + 1000  # more than the window can send
    events = events_generate(2 * count, seed=7, now=timezone.now())
    bodies = [orjson.dumps(e) for e in events]
    results, archive_seconds = [], []
    _, warmup_key = api_key_new("bench-scale-warmup")
    warmup = [orjson.dumps(e) for e in events_generate(config.workers * 50, seed=8, now=timezone.now())]
    with WebServer(config, bench_environment(config)) as server:
        # First requests build each worker's snapshots of keys, registry and prices: not measured.
        ClientPool(
            port=server.port, api_key=warmup_key, bodies=warmup, clients=config.workers, processes=1, stop_after_s=60
        ).run()
        for name, part in (("alone", bodies[:count]), ("while archiving", bodies[count:])):
            print(f"  single events {name}, {config.single_clients} clients for {window_s:.0f} s …", flush=True)
            pool = ClientPool(
                port=server.port,
                api_key=key,
                bodies=part,
                clients=config.single_clients,
                processes=config.client_processes,
                stop_after_s=window_s,
            )
            archive = threading.Thread(target=_archive_timed, args=(month, archive_seconds)) if results else None
            if archive:
                archive.start()
            load = pool.run()
            if archive:
                archive.join()
            require(load.error_count == 0, f"single events {name}: {load.error_count} failed, e.g. {load.errors[:3]}")
            require_equal(load.accepted, load.requests, f"single events {name}: events accepted")
            print(
                f"    {load.requests / load.seconds:,.0f} req/s, p50 / p99 {load.percentile_ms(50):.1f} / "
                f"{load.percentile_ms(99):.1f} ms",
                flush=True,
            )
            results.append(load)
    (alone, archiving), (again_seconds,) = results, archive_seconds
    stored = UsageEvent.objects.filter(api_key_id=key_id).count()
    require_equal(stored, alone.requests + archiving.requests, "single events stored while archiving")
    require_equal(_month_totals(month)[0], 0, "events left in the month archived again")
    print(f"    the archive took {again_seconds:.1f} s", flush=True)
    return alone, archiving, again_seconds


def _archive_timed(month: date, seconds: list[float]) -> None:
    from django.db import connection as thread_connection

    began = time.perf_counter()
    try:
        month_archive(month=month)
    finally:
        thread_connection.close()
    seconds.append(time.perf_counter() - began)
