"""Rollup benchmark: `day_rebuild` over a few days next to a bare GROUP BY of the same rows."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.org.models import Environment, Product, Team
from apps.pricing.rating import catalog
from apps.rollups import services as rollups
from apps.rollups.models import DailyRollup
from apps.usage.models import DirtyMark, UsageEvent
from apps.usage.services import days_mark_dirty

from .checks import require, require_equal
from .config import Config
from .cpu import CpuMeter, CpuUse
from .event_rows import events_insert_sql
from .events import MODELS, PRODUCTS, TEAMS, UNPRICED_MODEL, api_key_new, models_check, registry_create
from .server import process_cpu_seconds

# The grain and the sums are the rebuild's own, so the baseline aggregates exactly as it does.
_GROUP_BY = ", ".join((*rollups._GRAIN, rollups._TEAM_TAG))
_BARE_SQL = (
    f"SELECT {_GROUP_BY}, COUNT(*), {', '.join(f'SUM({c})' for c in rollups._SUMS)} "
    f"FROM {UsageEvent._meta.db_table} WHERE day = %s GROUP BY {_GROUP_BY}"
)

# Deterministic events in day order, as ingestion appends them (event i falls on day i × days /
# count, so a day's events lie together in its partition rather than spread over all of it); the
# tag combination g cycles through `groups` values within each day, and each tag takes g modulo a
# different prime, so every g is a distinct rollup row.
_LOAD_VALUES = {
    "api_key_id": "%(key)s",
    "event_id": "'r-' || i",
    "timestamp": "ts",
    "day": "ts::date",
    "received_at": "ts",
    "provider": "(%(providers)s::text[])[1 + g %% 8]",
    "model": "(%(models)s::text[])[1 + g %% 8]",
    "service_tier": "CASE WHEN i %% 10 = 0 THEN 'batch' ELSE 'standard' END",
    "outcome": "CASE WHEN i %% 50 = 0 THEN 'error' ELSE 'success' END",
    "latency_ms": "200 + i %% 5000",
    "input_tokens": "inp",
    "output_tokens": "outp",
    "cache_read_tokens": "cr",
    "cache_write_tokens": "cw",
    "cache_write_1h_tokens": "cw / 3",
    "reasoning_tokens": "0",
    "price_id": "(%(prices)s::bigint[])[1 + g %% 8]",
    "list_cost": "inp * 3000 + outp * 15000",
    "billed_cost": "(inp * 3000 + outp * 15000) * 9 / 10",
    "cache_savings": "cr * 2700",
    "unpriced": "(%(prices)s::bigint[])[1 + g %% 8] IS NULL",
    "team_tag": "(%(team_tags)s::text[])[1 + g %% 5]",
    "team_id": "(%(teams)s::bigint[])[1 + g %% 5]",
    "product_tag": "(%(product_tags)s::text[])[1 + g %% 7]",
    "product_id": "(%(products)s::bigint[])[1 + g %% 7]",
    "environment_tag": "(%(env_tags)s::text[])[1 + g %% 3]",
    "environment_id": "(%(envs)s::bigint[])[1 + g %% 3]",
    "feature": "'feature-' || g %% 11",
    "customer": "'cus_' || lpad((g %% 97)::text, 4, '0')",
    "agent": "CASE WHEN g %% 13 < 3 THEN 'agent-' || g %% 13 ELSE '' END",
    "trace_id": "'trace-' || i / 4",
    "missing_tags": "CASE WHEN (%(teams)s::bigint[])[1 + g %% 5] IS NULL THEN 'team' ELSE '' END",
}
_LOAD_FROM = """(
    SELECT i, g,
        %(start)s::timestamptz + (i::bigint * %(days)s / %(count)s) * interval '1 day'
            + (i * 37 %% 86400) * interval '1 second' AS ts,
        100 + i * 7 %% 30000 AS inp, 1 + i * 13 %% 4000 AS outp,
        CASE WHEN i %% 3 = 0 THEN (100 + i * 7 %% 30000) / 4 ELSE 0 END AS cr,
        CASE WHEN i %% 5 = 0 THEN (100 + i * 7 %% 30000) / 8 ELSE 0 END AS cw
    FROM (SELECT i, (i::bigint * 7919) %% %(groups)s AS g FROM generate_series(0, %(count)s - 1) AS i) AS s
) AS e"""

# Every sum a rollup row carries, checked against the raw events of the same day.
_INVARIANT_SQL = """
SELECT day, COUNT(*), SUM(CASE WHEN outcome = 'success' THEN 0 ELSE 1 END), SUM(input_tokens),
       SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens),
       SUM(list_cost), SUM(billed_cost), SUM(cache_savings), SUM(CASE WHEN unpriced THEN 1 ELSE 0 END)
FROM usage_usageevent GROUP BY day ORDER BY day
"""
_ROLLUP_INVARIANT_SQL = """
SELECT day, SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
       SUM(cache_write_tokens), SUM(reasoning_tokens), SUM(list_cost), SUM(billed_cost), SUM(cache_savings),
       SUM(unpriced)
FROM rollups_dailyrollup GROUP BY day ORDER BY day
"""


@dataclass
class RollupFigures:
    events: int
    days: int
    groups: int
    load_seconds: float
    rollup_rows: int = 0
    cpu: CpuUse | None = None
    bare_seconds: list[float] = field(default_factory=list)
    rebuild_seconds: list[float] = field(default_factory=list)
    select_seconds: list[float] = field(default_factory=list)

    def rate(self, seconds: list[float]) -> float:
        return self.events / statistics.median(seconds)

    @property
    def bare_rate(self) -> float:
        return self.rate(self.bare_seconds)

    @property
    def rebuild_rate(self) -> float:
        return self.rate(self.rebuild_seconds)

    @property
    def select_rate(self) -> float:
        return self.rate(self.select_seconds)

    @property
    def other_cores(self) -> float:
        return self.cpu.other / self.cpu.wall


def _counted(sql: str) -> str:
    """Fetch one row, yet make PostgreSQL compute every output column of `sql` (an outer query
    that ignored a column would let the planner drop that aggregate)."""
    return f"SELECT COUNT(*), COUNT(ROW(s.*)) FROM ({sql}) AS s"


def _events_load(config: Config, key_id: int, days: list[date]) -> float:
    prices = catalog.get()
    now = timezone.now()
    price_ids = [getattr(prices.price_at(p, m, now), "id", None) for p, m in (*MODELS, UNPRICED_MODEL)]
    models = [*MODELS, UNPRICED_MODEL]
    teams = dict(Team.objects.filter(slug__in=TEAMS).values_list("slug", "id"))
    products = dict(Product.objects.filter(slug__in=PRODUCTS).values_list("slug", "id"))
    envs = dict(Environment.objects.values_list("slug", "id"))
    params = {
        "key": key_id,
        "providers": [p for p, _ in models],
        "models": [m for _, m in models],
        "prices": price_ids,
        "team_tags": [*TEAMS, "growth"],
        "teams": [*(teams[slug] for slug in TEAMS), None],
        "product_tags": [*PRODUCTS, "legacy-app", "", ""],
        "products": [*(products[slug] for slug in PRODUCTS), None, None, None],
        "env_tags": ["production", "staging", "development"],
        "envs": [envs["production"], envs["staging"], envs["development"]],
        "start": f"{days[0].isoformat()}T00:00:00Z",
        "days": len(days),
        "groups": config.rollup_groups,
        "count": config.rollup_events,
    }
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(events_insert_sql(_LOAD_VALUES, source=_LOAD_FROM), params)
        require_equal(cursor.rowcount, config.rollup_events, "rollup events loaded")
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE usage_usageevent")  # what autovacuum would do after a bulk load
    return seconds


def _timed_days(sql: str, days: list[date]) -> float:
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for day in days:
            cursor.execute(sql, [day])
            cursor.fetchall()
    return time.perf_counter() - start


def _rebuild_days(days: list[date]) -> tuple[float, int]:
    with transaction.atomic():
        days_mark_dirty(days)
    start = time.perf_counter()
    rows = sum(rollups.day_rebuild(day=day) for day in days)
    return time.perf_counter() - start, rows


def rollup_run(config: Config) -> RollupFigures:
    registry_create()
    models_check()
    key_id, _ = api_key_new("bench-rollup")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE usage_usageevent, usage_dirtymark, rollups_dailyrollup")
    today = timezone.now().date()
    days = [today - timedelta(days=config.rollup_days - n) for n in range(config.rollup_days)]
    print(f"  loading {config.rollup_events} events over {len(days)} days …", flush=True)
    figures = RollupFigures(
        events=config.rollup_events,
        days=len(days),
        groups=config.rollup_groups,
        load_seconds=_events_load(config, key_id, days),
    )
    print(f"    {figures.load_seconds:.1f} s (INSERT … SELECT, then VACUUM ANALYZE)", flush=True)
    # The rebuild's own SELECT, without its INSERT: splits aggregation time from write time.
    select_sql = _counted("SELECT " + rollups._rebuild_sql().partition(") SELECT ")[2])
    bare_sql = _counted(_BARE_SQL)
    _timed_days(bare_sql, days)  # warm the cache: every measured pass then reads the same pages
    with CpuMeter(config.database, lambda: process_cpu_seconds(os.getpid())) as meter:
        for n in range(config.rollup_repeat):
            figures.bare_seconds.append(_timed_days(bare_sql, days))
            seconds, rows = _rebuild_days(days)
            figures.rebuild_seconds.append(seconds)
            figures.select_seconds.append(_timed_days(select_sql, days))
            print(
                f"  pass {n + 1}: bare GROUP BY {figures.bare_seconds[-1]:.2f} s, day_rebuild {seconds:.2f} s "
                f"({rows} rollup rows), rebuild SELECT without INSERT {figures.select_seconds[-1]:.2f} s",
                flush=True,
            )
            require(n == 0 or rows == figures.rollup_rows, "rebuilding the same days twice gave different row counts")
            figures.rollup_rows = rows
    figures.cpu = meter.use
    print(f"  CPU during the passes: {meter.use.describe(own='bench')}", flush=True)
    _require_invariant(days)
    return figures


def _require_invariant(days: list[date]) -> None:
    """Rollup sums equal raw-event sums, exactly, per day; no day left dirty; one row per group."""
    with connection.cursor() as cursor:
        cursor.execute(_INVARIANT_SQL)
        raw = [tuple(int(v) if not isinstance(v, date) else v for v in row) for row in cursor.fetchall()]
        cursor.execute(_ROLLUP_INVARIANT_SQL)
        rolled = [tuple(int(v) if not isinstance(v, date) else v for v in row) for row in cursor.fetchall()]
    require_equal([r[0] for r in raw], days, "days holding events")
    require_equal(rolled, raw, "rollup sums vs raw event sums per day (requests, errors, tokens, costs, unpriced)")
    require_equal(DirtyMark.objects.count(), 0, "days still dirty after the rebuild")
    require(DailyRollup.objects.exists(), "no rollup rows were built")
