"""Benchmark sizes, read once from BENCH_* variables; the defaults fit `make bench` in 10 minutes.

`--smoke` runs the same parts and checks at fixed small sizes (about 2 minutes on 2 cores): CI runs
it, so a benchmark that no longer runs fails the build. It reads only where to connect from the
environment, never a size, so an exported BENCH_EVENTS cannot turn CI's smoke into a full run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number.") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive, not {value}.")
    return value


@dataclass(frozen=True)
class Config:
    smoke: bool  # small sizes, nothing recorded
    pg_server_url: str
    database: str
    redis_url: str  # the shared cache the web workers use, as in production
    # Ingestion
    batch_events: int
    batch_size: int
    batch_clients: int
    single_requests: int
    single_seconds: int
    single_clients: int
    duplicate_events: int
    client_processes: int
    quiet_wait_s: int
    workers: int
    worker_class: str
    worker_threads: int
    # Rollups
    rollup_events: int
    rollup_days: int
    rollup_groups: int
    rollup_repeat: int
    # Pages
    pages_events: int
    pages_days: int
    pages_teams: int
    pages_products: int
    pages_customers: int
    pages_warmup: int
    pages_requests: int
    pages_seconds: int
    # Scale (`python -m bench scale`)
    scale_events: int
    # OpenTelemetry and the gateway
    otlp_spans: int
    gateway_requests: int
    gateway_seconds: float  # per wrk run
    gateway_peers: bool  # Portkey and LiteLLM too (installed on first use)

    @property
    def database_url(self) -> str:
        return f"{self.pg_server_url}/{self.database}"


# Sizes of `python -m bench --smoke`: every phase runs and is checked, in seconds rather than minutes.
SMOKE = {
    "BENCH_EVENTS": 4_000,
    "BENCH_SINGLE_REQUESTS": 12_000,
    "BENCH_SINGLE_SECONDS": 4,
    "BENCH_QUIET_WAIT_SECONDS": 0,
    "BENCH_ROLLUP_EVENTS": 20_000,
    "BENCH_ROLLUP_GROUPS": 500,
    "BENCH_ROLLUP_REPEAT": 2,
    "BENCH_PAGES_EVENTS": 60_000,
    "BENCH_PAGES_DAYS": 40,
    "BENCH_PAGES_TEAMS": 20,
    "BENCH_PAGES_PRODUCTS": 60,
    "BENCH_PAGES_CUSTOMERS": 500,
    "BENCH_PAGES_WARMUP": 1,
    "BENCH_PAGES_REQUESTS": 3,
    "BENCH_SCALE_EVENTS": 40_000,
    "BENCH_OTLP_SPANS": 2_000,
    "BENCH_GATEWAY_REQUESTS": 40,
    "BENCH_GATEWAY_SECONDS": 1,
}


def config_load(*, smoke: bool = False) -> Config:
    cores = os.cpu_count() or 1
    database = os.environ.get("BENCH_DATABASE", "attribution_bench")
    # The benchmark drops and recreates its database: never let a typo point it at a real one.
    if "bench" not in database:
        raise SystemExit(f"BENCH_DATABASE={database!r}: the name must contain 'bench' (it is dropped and recreated).")

    def size(name: str, default: int) -> int:
        return SMOKE.get(name, default) if smoke else _positive_int(name, default)

    batch_events = size("BENCH_EVENTS", 200_000)
    return Config(
        smoke=smoke,
        pg_server_url=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/"),
        database=database,
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        batch_events=batch_events,
        batch_size=size("BENCH_BATCH_SIZE", 1000),
        batch_clients=size("BENCH_BATCH_CLIENTS", 4),
        # Single events run for a fixed time (or until this many are sent, whichever comes first).
        single_requests=size("BENCH_SINGLE_REQUESTS", 100_000),
        single_seconds=size("BENCH_SINGLE_SECONDS", 45),
        single_clients=size("BENCH_SINGLE_CLIENTS", 8),
        duplicate_events=min(size("BENCH_DUPLICATE_EVENTS", batch_events), batch_events),
        client_processes=size("BENCH_CLIENT_PROCESSES", 2),
        quiet_wait_s=size("BENCH_QUIET_WAIT_SECONDS", 60),
        # gunicorn's rule of thumb for sync workers: 2 × cores + 1, so a core never idles while
        # a worker waits on PostgreSQL.
        workers=size("BENCH_WORKERS", 2 * cores + 1),
        worker_class="sync" if smoke else os.environ.get("BENCH_WORKER_CLASS", "sync"),
        worker_threads=size("BENCH_WORKER_THREADS", 1),
        rollup_events=size("BENCH_ROLLUP_EVENTS", 1_000_000),
        rollup_days=size("BENCH_ROLLUP_DAYS", 4),
        rollup_groups=size("BENCH_ROLLUP_GROUPS", 5_000),
        rollup_repeat=size("BENCH_ROLLUP_REPEAT", 3),
        pages_events=size("BENCH_PAGES_EVENTS", 10_000_000),
        scale_events=size("BENCH_SCALE_EVENTS", 30_000_000),
        pages_days=size("BENCH_PAGES_DAYS", 90),
        pages_teams=size("BENCH_PAGES_TEAMS", 100),
        pages_products=size("BENCH_PAGES_PRODUCTS", 300),
        pages_customers=size("BENCH_PAGES_CUSTOMERS", 5_000),
        pages_warmup=size("BENCH_PAGES_WARMUP", 3),
        pages_requests=size("BENCH_PAGES_REQUESTS", 30),
        # A page far over its target stops early (after at least MIN_TIMED_REQUESTS): 30 requests
        # of a 2-second page would take a minute of `make bench` and say nothing more.
        pages_seconds=size("BENCH_PAGES_SECONDS", 40),
        otlp_spans=size("BENCH_OTLP_SPANS", 100_000),
        gateway_requests=size("BENCH_GATEWAY_REQUESTS", 2_000),
        gateway_seconds=size("BENCH_GATEWAY_SECONDS", 10),
        gateway_peers=False if smoke else os.environ.get("BENCH_GATEWAY_PEERS", "1") != "0",
    )
