"""Ingestion benchmark: COPY baseline, batches, single events and duplicates over HTTP.

Runs against gunicorn on loopback; after each phase the stored rows and money are checked against
what was sent.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import psycopg

from .checks import require, require_equal
from .client import OTLP_PATH, PATH, ClientPool, LoadResult
from .config import Config
from .cpu import CpuMeter, CpuUse
from .events import Totals, api_key_new, events_generate, events_rate, models_check, registry_create, totals_stored
from .readers import ReaderPool, ReadResult, finance_session, heavy_queries
from .server import WebServer
from .waits import WaitSampler
from .wrk import WrkPool

# A count-bounded phase (batches, duplicates) that has not finished by then fails the run.
PHASE_LIMIT_S = 240
HEAVY_READERS = 4
# The pgbench baseline runs this long (or the single-event phase's time, if shorter).
PGBENCH_SECONDS = 15
PGBENCH_TABLE = "bench_pgbench_insert"
# One durable single-row insert a transaction: what PostgreSQL alone does at the single-event phase's
# client count, the ceiling a request storing one event can approach.
PGBENCH_SCRIPT = f"""\\set n random(1, 1000000000)
INSERT INTO {PGBENCH_TABLE} (event_id, day, billed_cost) VALUES ('evt-' || :n, current_date, 0.004500000);
"""


@dataclass
class Phase:
    load: LoadResult
    cpu: CpuUse
    waits: str
    wal_flushes: int  # WAL syncs of the whole server meanwhile (pg_stat_wal; other databases' too)

    def requests_per_flush(self) -> float:
        return self.load.requests / max(1, self.wal_flushes)

    def rate(self, count: int) -> float:
        return count / self.load.seconds

    def cpu_us(self, count: int) -> tuple[float, float]:
        """(web, PostgreSQL) CPU microseconds per item: what the work costs, whatever else ran."""
        return 1e6 * self.cpu.web / count, 1e6 * self.cpu.postgres / count


@dataclass
class IngestFigures:
    config: Config
    copy_events: int
    copy_seconds: float
    batch: Phase
    single: Phase
    duplicates: Phase
    peak_rss_kb: dict[int, int]
    single_read: Phase  # single events again, with HEAVY_READERS clients reading costs meanwhile
    reads: ReadResult
    rollup_rows: int
    pgbench_rate: float  # durable single-row inserts/s at the single-event phase's client count

    @property
    def single_vs_pgbench(self) -> float:
        return self.single_rate / self.pgbench_rate

    @property
    def copy_rate(self) -> float:
        return self.copy_events / self.copy_seconds

    @property
    def batch_rate(self) -> float:
        return self.batch.rate(self.batch.load.accepted)

    @property
    def single_rate(self) -> float:
        return self.single.rate(self.single.load.requests)

    @property
    def duplicate_rate(self) -> float:
        return self.duplicates.rate(self.duplicates.load.duplicates)

    @property
    def worker_rss_mb(self) -> float:
        return max(self.peak_rss_kb.values()) / 1024

    @property
    def other_cores(self) -> float:
        """Cores other work on the machine took during the measured phases, on average."""
        phases = (self.batch, self.single, self.duplicates)
        return sum(p.cpu.other for p in phases) / sum(p.cpu.wall for p in phases)


def _phase(
    server: WebServer,
    name: str,
    *,
    api_key: str,
    bodies: list[bytes],
    clients: int,
    config: Config,
    stop_after_s,
    path: str = PATH,
    pool_class=ClientPool,
) -> Phase:
    print(f"  {name}: up to {len(bodies)} requests, {clients} concurrent clients …", flush=True)
    pool = pool_class(
        port=server.port,
        api_key=api_key,
        bodies=bodies,
        clients=clients,
        processes=config.client_processes,
        stop_after_s=stop_after_s,
        path=path,
        content_type="application/x-protobuf" if path == OTLP_PATH else "application/json",
    )
    flushes_before = _wal_flushes(config)
    with CpuMeter(config.database, server.workers_cpu_seconds) as meter, WaitSampler(config.database_url) as waits:
        load = pool.run()
    wal_flushes = _wal_flushes(config) - flushes_before
    meter.use.clients = load.client_cpu_seconds
    if load.error_count:
        print(f"gunicorn log:\n{server.log_tail()}")
    require(load.error_count == 0, f"{name}: {load.error_count} failed requests, e.g. {load.errors[:3]}")
    require_equal(load.rejected, 0, f"{name}: events rejected by validation")
    print(f"    {load.requests} requests in {load.seconds:.1f} s; CPU: {meter.use.describe()}", flush=True)
    print(f"    PostgreSQL backends, average: {waits.describe()}", flush=True)
    print(f"    WAL flushes (whole server): {wal_flushes:,}, {load.requests / max(1, wal_flushes):.2f} requests each")
    return Phase(load=load, cpu=meter.use, waits=waits.describe(), wal_flushes=wal_flushes)


def _wal_flushes(config: Config) -> int:
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        return conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()[0]


def _stored_indexes(api_key_id: int, indexes: dict[str, int]) -> list[int]:
    """The indexes (into the bodies sent) of the events of `indexes` the key has stored, once the
    requests wrk left in flight at its deadline are done (the count holds still for half a second)."""
    from apps.usage.models import UsageEvent

    stored = UsageEvent.objects.filter(api_key_id=api_key_id)
    count, deadline = -1, time.monotonic() + 30
    while (now := stored.count()) != count and time.monotonic() < deadline:
        count = now
        time.sleep(0.5)
    event_ids = stored.values_list("event_id", flat=True).iterator()
    return [indexes[event_id] for event_id in event_ids if event_id in indexes]


def _require_stored(api_key_id: int, expected: Totals, when: str) -> None:
    stored = totals_stored(api_key_id)
    for name, want in vars(expected).items():
        require_equal(getattr(stored, name), want, f"after {when}: stored {name} (vs what was sent, rated)")


def copy_baseline(config: Config, api_key_id: int, expected_rows: int) -> tuple[int, float]:
    """COPY the rows ingestion stored into an equivalent table (same columns, indexes and unique
    constraint; no foreign keys) in one transaction: how fast PostgreSQL itself takes them."""
    from apps.usage.models import UsageEvent

    columns = ", ".join(f.column for f in UsageEvent._meta.concrete_fields if f.column != "id")
    buffer = io.BytesIO()
    with psycopg.connect(config.database_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        conn.execute("CREATE TABLE bench_copy_baseline (LIKE usage_usageevent INCLUDING ALL)")
        conn.commit()
        export = f"COPY (SELECT {columns} FROM usage_usageevent WHERE api_key_id = {int(api_key_id)} ORDER BY id)"
        with conn.cursor().copy(f"{export} TO STDOUT") as copy:
            for chunk in copy:
                buffer.write(chunk)
        conn.commit()
        data = buffer.getbuffer()
        start = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY bench_copy_baseline ({columns}) FROM STDIN") as copy:
                for offset in range(0, len(data), 1 << 20):
                    copy.write(data[offset : offset + (1 << 20)])
            rows = cursor.rowcount
        conn.commit()
        seconds = time.perf_counter() - start
        require_equal(rows, expected_rows, "COPY baseline rows")
        conn.execute("DROP TABLE bench_copy_baseline")
        conn.commit()
    return rows, seconds


def pgbench_baseline(config: Config, clients: int) -> float:
    """Transactions/s of pgbench inserting one row per transaction into a scratch table from
    `clients` connections, with synchronous_commit on (each insert durable before the next)."""
    pgbench = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    require(pgbench is not None, "pgbench not found (it comes with PostgreSQL's client programs)")
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
        conn.execute(
            f"CREATE TABLE {PGBENCH_TABLE} (id bigserial PRIMARY KEY, event_id text NOT NULL, day date NOT NULL, "
            "billed_cost numeric(20, 9) NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
        )
    seconds = min(PGBENCH_SECONDS, config.single_seconds)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        command = [str(pgbench), "-n", "-M", "prepared", f"-c{clients}", "-j2", f"-T{seconds}", "-f", script.name]
        env = {**os.environ, "PGOPTIONS": "-c synchronous_commit=on"}
        done = subprocess.run([*command, config.database_url], capture_output=True, text=True, env=env)
    require(done.returncode == 0, f"pgbench failed: {done.stderr.strip()[-500:]}")
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    require(found is not None, f"pgbench printed no rate: {done.stdout[-500:]}")
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {PGBENCH_TABLE}")
    return float(found.group(1))


def ingest_run(config: Config, env: dict[str, str]) -> IngestFigures:
    from django.utils import timezone

    from apps.rollups.models import DailyRollup
    from apps.usage.models import DirtyMark

    registry_create()
    models_check()
    key_id, key = api_key_new("bench")
    _, warmup_key = api_key_new("bench-warmup")
    now = timezone.now()
    print("  generating and rating events …", flush=True)
    batch_events = events_generate(config.batch_events, seed=1, now=now)
    single_events = events_generate(config.single_requests, seed=2, now=now)
    batch_rated = Totals.of(events_rate(batch_events))
    single_rated = events_rate(single_events)
    size = config.batch_size
    batch_bodies = [orjson.dumps({"events": batch_events[i : i + size]}) for i in range(0, len(batch_events), size)]
    single_bodies = [orjson.dumps(e) for e in single_events]
    single_ids = {e["event_id"]: i for i, e in enumerate(single_events)}
    read_bodies = [orjson.dumps(e) for e in events_generate(config.single_requests, seed=4, now=now)]
    duplicate_bodies = batch_bodies[: -(-config.duplicate_events // size)]
    duplicate_count = min(len(duplicate_bodies) * size, config.batch_events)
    warmup_bodies = [orjson.dumps(e) for e in events_generate(config.workers * 50, seed=3, now=now)]
    del batch_events, single_events

    with WebServer(config, env) as server:
        print(f"  gunicorn: {config.workers} {config.worker_class} workers on 127.0.0.1:{server.port}", flush=True)
        # First requests build each worker's snapshots of keys, registry and prices: not measured.
        _phase(
            server,
            "warm-up",
            api_key=warmup_key,
            bodies=warmup_bodies,
            clients=config.workers,
            config=config,
            stop_after_s=PHASE_LIMIT_S,
        )

        batch = _phase(
            server,
            "batch ingestion",
            api_key=key,
            bodies=batch_bodies,
            clients=config.batch_clients,
            config=config,
            stop_after_s=PHASE_LIMIT_S,
        )
        require_equal(batch.load.requests, len(batch_bodies), "batch ingestion: batches answered in time")
        require_equal(batch.load.accepted, config.batch_events, "batch ingestion: events accepted")
        require_equal(batch.load.duplicates, 0, "batch ingestion: duplicates reported")
        _require_stored(key_id, batch_rated, "batch ingestion")

        print("  COPY baseline …", flush=True)
        copy_rows, copy_seconds = copy_baseline(config, key_id, config.batch_events)
        print(f"    {copy_rows} rows in {copy_seconds:.2f} s", flush=True)

        single = _phase(
            server,
            "single-event ingestion",
            api_key=key,
            bodies=single_bodies,
            clients=config.single_clients,
            config=config,
            stop_after_s=config.single_seconds,
            pool_class=WrkPool,
        )
        require_equal(single.load.accepted, single.load.requests, "single-event ingestion: events accepted")
        stored = _stored_indexes(key_id, single_ids)
        # wrk stops mid-request at its deadline: a request it gave up on may still have been stored.
        require(
            single.load.requests <= len(stored) <= single.load.requests + config.single_clients,
            f"single-event ingestion: {len(stored)} stored for {single.load.requests} answered",
        )
        expected_all = batch_rated + Totals.of([single_rated[i] for i in stored])
        _require_stored(key_id, expected_all, "single-event ingestion")
        print(f"  pgbench baseline: one durable insert a transaction, {config.single_clients} clients …", flush=True)
        pgbench_rate = pgbench_baseline(config, config.single_clients)
        print(
            f"    {pgbench_rate:,.0f} inserts/s; single events {single.rate(single.load.requests):,.0f} req/s "
            f"({single.rate(single.load.requests) / pgbench_rate:.1%} of it)",
            flush=True,
        )

        duplicates = _phase(
            server,
            "duplicate batches",
            api_key=key,
            bodies=duplicate_bodies,
            clients=config.batch_clients,
            config=config,
            stop_after_s=PHASE_LIMIT_S,
        )
        require_equal(duplicates.load.requests, len(duplicate_bodies), "duplicates: batches answered in time")
        require_equal(duplicates.load.accepted, 0, "duplicates: events stored a second time")
        require_equal(duplicates.load.duplicates, duplicate_count, "duplicates: events reported as duplicates")
        _require_stored(key_id, expected_all, "re-posting the batches (nothing may be stored twice)")

        # Rollups are the workers' job: requests only mark days dirty (ROLLUP_REFRESH_ON_INGEST=0).
        require_equal(DailyRollup.objects.count(), 0, "rollup rows built inside ingestion requests")
        require(DirtyMark.objects.exists(), "ingestion marked no day dirty")
        single_read, reads, rollup_rows = _single_with_readers(server, config, key, read_bodies)
        server.workers_unchanged()
        peak_rss_kb = server.workers_peak_rss_kb()
    return IngestFigures(
        config=config,
        copy_events=copy_rows,
        copy_seconds=copy_seconds,
        batch=batch,
        single=single,
        duplicates=duplicates,
        peak_rss_kb=peak_rss_kb,
        single_read=single_read,
        reads=reads,
        rollup_rows=rollup_rows,
        pgbench_rate=pgbench_rate,
    )


def _single_with_readers(server: WebServer, config: Config, key: str, bodies: list[bytes]):
    """Roll the stored events up (the readers read rollups), then post single events again while
    HEAVY_READERS clients ask for the widest costs reports, back to back."""
    from django.utils import timezone

    from apps.allocation.services import dirty_day_refresh
    from apps.rollups.models import DailyRollup
    from apps.rollups.services import dirty_days

    for day in dirty_days():
        dirty_day_refresh(day=day)
    rollup_rows = DailyRollup.objects.count()
    print(f"  rolled up: {rollup_rows:,} rollup rows for the readers", flush=True)
    readers = ReaderPool(
        port=server.port,
        session_key=finance_session(),
        queries=heavy_queries(timezone.now().date()),
        readers=HEAVY_READERS,
    )
    readers.start()
    time.sleep(2)  # every reader has a report in flight before the clock starts
    try:
        phase = _phase(
            server,
            f"single-event ingestion, {HEAVY_READERS} heavy readers",
            api_key=key,
            bodies=bodies,
            clients=config.single_clients,
            config=config,
            stop_after_s=config.single_seconds,
            pool_class=WrkPool,
        )
    finally:
        reads = readers.stop()
    print(f"    readers: {reads.describe()}", flush=True)
    require_equal(phase.load.accepted, phase.load.requests, "single events with readers: events accepted")
    require(reads.statuses.get(200, 0) > 0, f"the heavy readers got no report: {reads.errors}")
    require(not reads.statuses.get("error") and not reads.statuses.get(500), f"reader errors: {reads.errors}")
    return phase, reads, rollup_rows
