"""Recording results in docs/benchmarks.md: a row per run in each table (history kept), and details."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .server import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
INGEST_ROWS = "<!-- bench:ingest:rows -->"
ROLLUP_ROWS = "<!-- bench:rollup:rows -->"
PAGES_ROWS = "<!-- bench:pages:rows -->"
OTLP_ROWS = "<!-- bench:otlp:rows -->"
LATEST_START, LATEST_END = "<!-- bench:latest -->", "<!-- /bench:latest -->"

# Targets of ingestion and rollups (the pages' are in bench.pages.run).
BATCH_VS_COPY = 0.25
SINGLE_RPS = 1000
SINGLE_P99_MS = 25
SINGLE_VS_PGBENCH = 0.20
WORKER_RSS_MB = 200
REBUILD_VS_BARE = 0.50

INGEST_COLUMNS = (
    "Date (UTC)",
    "Commit",
    "Machine",
    "Other load (cores)",
    "Events batch / single",
    "Workers",
    "COPY rows/s",
    "Batch events/s",
    "Batch / COPY (≥ 25%)",
    "Single req/s (≥ 1,000)",
    "p50 / p95 ms",
    "p99 ms (≤ 25)",
    "Duplicate events/s",
    "Worker peak RSS MB (≤ 200)",
    "pgbench inserts/s",
    "Single / pgbench (≥ 20%)",
)
ROLLUP_COLUMNS = (
    "Date (UTC)",
    "Commit",
    "Machine",
    "Other load (cores)",
    "Events",
    "Days",
    "Rollup rows",
    "Bare GROUP BY events/s",
    "day_rebuild events/s",
    "Rebuild / bare (≥ 50%)",
    "Rebuild SELECT alone events/s",
)
PAGES_COLUMNS = (
    "Date (UTC)",
    "Commit",
    "Machine",
    "Other load (cores)",
    "Events",
    "Rollup rows",
    "Build s (load + day_refresh)",
    "Team page p50 / p95 ms (p95 ≤ 150)",
    "Overview p50 / p95 ms (p95 ≤ 300)",
    "Queries team / overview",
)


def _table_header(columns: tuple[str, ...]) -> str:
    return "| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.machine()


def machine_describe() -> str:
    return f"{os.cpu_count()} cores ({_cpu_model()}), {_meminfo_gib():.1f} GiB"


def _postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0].split()[0]


def commit_describe() -> str:
    """Short commit, `+dirty` when the measured code has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "apps", "attribution_site", "requirements.txt"):
        commit += "+dirty"
    return commit


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def _ingest_row(f, head: list[str]) -> str:
    ratio = f.batch_rate / f.copy_rate
    p99 = f.single.load.percentile_ms(99)
    return _row(
        [
            *head,
            f"{f.other_cores:.2f}",
            f"{f.config.batch_events:,} / {f.single.load.requests:,}",
            f"{f.config.workers} {f.config.worker_class}",
            f"{f.copy_rate:,.0f}",
            f"{f.batch_rate:,.0f}",
            f"{ratio:.1%} {_mark(ratio >= BATCH_VS_COPY)}",
            f"{f.single_rate:,.0f} {_mark(f.single_rate >= SINGLE_RPS)}",
            f"{f.single.load.percentile_ms(50):.1f} / {f.single.load.percentile_ms(95):.1f}",
            f"{p99:.1f} {_mark(p99 <= SINGLE_P99_MS)}",
            f"{f.duplicate_rate:,.0f}",
            f"{f.worker_rss_mb:.0f} {_mark(f.worker_rss_mb <= WORKER_RSS_MB)}",
            f"{f.pgbench_rate:,.0f}",
            f"{f.single_vs_pgbench:.1%} {_mark(f.single_vs_pgbench >= SINGLE_VS_PGBENCH)}",
        ]
    )


def _rollup_row(f, head: list[str]) -> str:
    ratio = f.rebuild_rate / f.bare_rate
    return _row(
        [
            *head,
            f"{f.other_cores:.2f}",
            f"{f.events:,}",
            str(f.days),
            f"{f.rollup_rows:,}",
            f"{f.bare_rate:,.0f}",
            f"{f.rebuild_rate:,.0f}",
            f"{ratio:.1%} {_mark(ratio >= REBUILD_VS_BARE)}",
            f"{f.select_rate:,.0f}",
        ]
    )


def _pages_row(f, head: list[str]) -> str:
    team, overview = f.pages["team"], f.pages["overview"]
    return _row(
        [
            *head,
            f"{f.other_cores:.2f}",
            f"{f.events:,}",
            f"{f.rollup_rows:,}",
            f"{f.build_seconds:.0f} ({f.load_seconds:.0f} + {sum(f.refresh_seconds):.0f})",
            f"{team.percentile_ms(50):.0f} / {team.percentile_ms(95):.0f} {_mark(f.team_ok)}",
            f"{overview.percentile_ms(50):.0f} / {overview.percentile_ms(95):.0f} {_mark(f.overview_ok)}",
            f"{team.queries} / {overview.queries}",
        ]
    )


def _pages_details(f, busy_before: float) -> list[str]:
    from .pages.profile import PHASES

    refresh = sorted(f.refresh_seconds)
    lines = [
        f"**Pages.** {f.events:,} events over {f.days} days ({f.teams} teams, {f.products} products, "
        f"{f.customers:,} customers) loaded in {f.load_seconds:.0f} s; `day_refresh` of the {f.days} days took "
        f"{sum(refresh):.0f} s (median {refresh[len(refresh) // 2]:.2f} s a day, slowest {refresh[-1]:.2f} s) and "
        f"left {f.rollup_rows:,} rollup rows and {f.allocation_rows:,} allocation results; its statements: "
        f"{f.refresh.describe()}. Team page: "
        f"`{f.pages['team'].path}`, the largest team ({f.team_share:.1%} of the month's spend; "
        f"{f.team_rollup_rows:,} of the month's {f.month_rollup_rows:,} rollup rows). Timed requests: team "
        f"{len(f.pages['team'].seconds)}, overview {len(f.pages['overview'].seconds)}, after "
        f"{f.warmup} warm-ups each. Other load before "
        f"starting: {busy_before:.2f} cores; while timing: {f.cpu.describe(own='bench')}. Page sizes: team "
        f"{f.pages['team'].html_bytes / 1024:.0f} KiB, overview {f.pages['overview'].html_bytes / 1024:.0f} KiB.",
        "",
        "| Page | ms a request (median of 3, instrumented) | " + " | ".join(PHASES) + " | Queries |",
        "|---" * (len(PHASES) + 3) + "|",
    ]
    for name, p in f.profiles.items():
        phases = " | ".join(f"{p.phases_ms[phase]:.0f}" for phase in PHASES)
        lines.append(f"| {name} | {p.total_ms:.0f} | {phases} | {len(p.queries)} |")
    lines.append("")
    for name, p in f.profiles.items():
        by_caller = ", ".join(f"`{c}` {n}× {ms:.0f} ms" for c, n, ms in p.sql_by_caller())
        slowest = "; ".join(f"{ms:.1f} ms {label}" for ms, label in p.sql_summary())
        lines.append(f"SQL of the {name} page by what the view called: {by_caller}. Slowest queries: {slowest}.")
        lines.append("")
    return lines


def _ingest_details(f, busy_before: float) -> list[str]:
    c = f.config
    lines = [
        f"**Ingestion.** gunicorn {c.workers} {c.worker_class} workers; batches of {c.batch_size:,} from "
        f"{c.batch_clients} clients ({c.client_processes} client processes); single events for {c.single_seconds} s "
        f"from {c.single_clients} wrk connections. Other load before starting: {busy_before:.2f} cores. "
        f"COPY baseline: {f.copy_events:,} rows in {f.copy_seconds:.2f} s. pgbench baseline (after the "
        f"single events, same {c.single_clients} clients, one durable single-row insert a transaction, "
        f"prepared): {f.pgbench_rate:,.0f} inserts/s; single events reached {f.single_vs_pgbench:.1%} of it.",
        "",
        "| Phase | Seconds | Cores busy (average) | Web CPU µs / item | PostgreSQL CPU µs / item "
        "| Active backends (average) |",
        "|---|---|---|---|---|---|",
    ]
    for name, phase, count in (
        ("batch (per event)", f.batch, f.batch.load.accepted),
        ("single (per request)", f.single, f.single.load.requests),
        ("duplicates (per event)", f.duplicates, f.duplicates.load.duplicates),
        ("single, heavy readers (per request)", f.single_read, f.single_read.load.requests),
    ):
        web, postgres = phase.cpu_us(count)
        lines.append(
            f"| {name} | {phase.load.seconds:.1f} | {phase.cpu.describe()} | {web:,.0f} | {postgres:,.0f} "
            f"| {phase.waits} |"
        )
    rss = ", ".join(f"{kb / 1024:.0f}" for kb in f.peak_rss_kb.values())
    lines += ["", f"Worker peak RSS (VmHWM, MB): {rss}.", ""]
    alone, read = f.single.load, f.single_read.load
    lines += [
        f"**Single events and WAL flushes.** {c.workers} {c.worker_class} workers × {c.worker_threads} "
        f"thread(s): {f.single.wal_flushes:,} WAL flushes on the whole server during the single-event phase, "
        f"{f.single.requests_per_flush():.2f} requests a flush (group commit shares one among the requests "
        f"a web process has in flight; PostgreSQL shares one among concurrent commits of its own).",
        "",
        f"**Single events with four heavy readers.** {read.requests:,} single events in {read.seconds:.1f} s "
        f"({read.requests / read.seconds:,.0f}/s) from {c.single_clients} clients while four clients asked "
        f"/api/v1/costs for the widest reports it answers over {f.rollup_rows:,} rollup rows, back to back. "
        f"Single-event p50 / p95 / p99: {read.percentile_ms(50):.1f} / {read.percentile_ms(95):.1f} / "
        f"**{read.percentile_ms(99):.1f} ms** (without readers: {alone.percentile_ms(50):.1f} / "
        f"{alone.percentile_ms(95):.1f} / {alone.percentile_ms(99):.1f} ms). Readers: {f.reads.describe()}.",
        "",
    ]
    return lines


def _rollup_details(f, busy_before: float) -> list[str]:
    def listed(values: list[float]) -> str:
        return ", ".join(f"{s:.2f}" for s in values)

    return [
        f"**Rollups.** {f.events:,} events over {f.days} days ({f.groups:,} tag combinations a day) loaded "
        f"in {f.load_seconds:.1f} s. Other load before starting: {busy_before:.2f} cores; during the passes: "
        f"{f.cpu.describe(own='bench')}. Seconds per pass (the median counts): bare GROUP BY "
        f"{listed(f.bare_seconds)}; day_rebuild {listed(f.rebuild_seconds)}; the rebuild's SELECT without "
        f"its INSERT {listed(f.select_seconds)}.",
        "",
    ]


def results_record(results: dict, background: dict[str, float], *, record: bool) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    head = [stamp, commit_describe(), machine_describe()]
    rows = []
    details = [
        f"Run of {stamp}, commit {head[1]}, {head[2]}, PostgreSQL {_postgres_version()}, "
        f"Python {platform.python_version()}.",
        "",
    ]
    if "ingest" in results:
        rows.append((INGEST_ROWS, _ingest_row(results["ingest"], head)))
        details += _ingest_details(results["ingest"], background["ingest"])
    if "rollup" in results:
        rows.append((ROLLUP_ROWS, _rollup_row(results["rollup"], head)))
        details += _rollup_details(results["rollup"], background["rollup"])
    if "pages" in results:
        rows.append((PAGES_ROWS, _pages_row(results["pages"], head)))
        details += _pages_details(results["pages"], background["pages"])
    if "otlp" in results:
        from .otlp import otlp_details, otlp_row

        rows.append((OTLP_ROWS, _row(otlp_row(results["otlp"], head))))
        details += otlp_details(results["otlp"], background["otlp"])
    latest = "\n".join(details)
    for _, row in rows:
        print(row)
    print(latest)
    if not record:
        return
    text = DOC.read_text() if DOC.exists() else _template()
    for marker, row in rows:
        text = _insert_row(text, marker, row)
    before, _, rest = text.partition(LATEST_START)
    _, _, after = rest.partition(LATEST_END)
    DOC.write_text(f"{before}{LATEST_START}\n{latest}\n{LATEST_END}{after}")
    print(f"recorded in {DOC.relative_to(ROOT)}")


def row_record(marker: str, cells: list[str], *, record: bool) -> None:
    """Print a table row and, when `record`, append it above `marker` in docs/benchmarks.md."""
    row = _row(cells)
    print(row)
    if record:
        DOC.write_text(_insert_row(DOC.read_text(), marker, row))
        print(f"recorded in {DOC.relative_to(ROOT)}")


def _insert_row(text: str, marker: str, row: str) -> str:
    if marker not in text:
        raise SystemExit(f"{DOC} lost its marker {marker}; put it back under its table to record results.")
    before, _, after = text.partition(marker)
    return before.rstrip("\n") + "\n" + row + "\n\n" + marker + after


def _template() -> str:
    return f"""# Benchmarks

## Ingestion

{_table_header(INGEST_COLUMNS)}

{INGEST_ROWS}

## Rollups

{_table_header(ROLLUP_COLUMNS)}

{ROLLUP_ROWS}

## Pages

{_table_header(PAGES_COLUMNS)}

{PAGES_ROWS}

## Latest run

{LATEST_START}
{LATEST_END}
"""
