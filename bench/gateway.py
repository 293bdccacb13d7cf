"""`python -m bench gateway`: the same calls direct to a loopback upstream, through this gateway and
through the peers people would pick instead (Portkey's gateway, LiteLLM's proxy), with `wrk`.

Each target takes JSON calls and 20-chunk streams at 1 connection, 8 connections and paced at
500 req/s (bench.wrk says how). Added = the target's percentile − direct's at the same load.
Each proxy's CPU per call is read from /proc/<pid>/stat (children included), its memory from
/proc/<pid>/status. A stream's added time to first byte is probed separately (sequential calls on
one connection, Python's http.client: the client's own cost is the same for every target).
Afterwards the database must hold one gateway event per call answered through this gateway (a
call cut off when a wrk run ends may add one), each answered call at the exact price of its usage.
"""

from __future__ import annotations

import contextlib
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from .checks import require, require_equal
from .config import Config
from .peers import Target, Unavailable, litellm_start, portkey_start
from .server import ROOT, port_free, process_cpu_seconds, process_status_kb
from .wrk import WrkResult, wrk_run

PACED_RPS = 500
TARGET_CPU_JSON_MS, TARGET_CPU_STREAM_MS = 0.5, 1.0
TARGET_P50_MS, TARGET_P99_MS, TARGET_TTFB_MS, TARGET_RSS_MB = 1.0, 5.0, 2.0, 200
BODY = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
STREAM_BODY = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "stream": True})
LOADS = (("1 connection", 1, None), ("8 connections", 8, None), (f"{PACED_RPS} req/s paced", 8, PACED_RPS))
KINDS = ("json", "stream")


@dataclass
class Measure:
    target: str
    kind: str
    load: str
    result: WrkResult
    cpu_ms_per_call: float | None  # None for direct (no proxy)


@dataclass
class GatewayFigures:
    measures: list[Measure]
    first_byte_ms: dict[str, float]  # target → median time to the first body byte of a stream
    rss_mb: dict[str, float]  # target → peak RSS of its largest process
    unavailable: dict[str, str]  # peer → why it was not measured
    events: int
    cost_each: str
    seconds: float  # per wrk run

    def get(self, target: str, kind: str, load: str) -> Measure | None:
        return next((m for m in self.measures if (m.target, m.kind, m.load) == (target, kind, load)), None)

    def added(self, target: str, kind: str, load: str, q: int) -> float:
        measure, direct = self.get(target, kind, load), self.get("direct", kind, load)
        if q == 50:
            return measure.result.p50_ms - direct.result.p50_ms
        return measure.result.p99_ms - direct.result.p99_ms

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(m.target for m in self.measures))


def _serve(app: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = port_free()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        f"--port={port}",
        "--loop=uvloop",
        "--http=httptools",
        "--no-access-log",
        "--log-level=warning",
        "--lifespan=on",
        # Longer than the client's pool keeps an idle connection, so the server never closes one
        # the client is about to reuse.
        "--timeout-keep-alive=75",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"{app} did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def _cpu(target: Target) -> float:
    total = 0.0
    for pid in target.pids():
        # A worker that exited meanwhile: its CPU is lost to the figure.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += process_cpu_seconds(pid)
    return total


def _peak_rss_mb(target: Target) -> float:
    return max((process_status_kb(pid, "VmHWM") for pid in target.pids()), default=0) / 1024


def _first_byte_ms(target: Target, count: int) -> float:
    """Median time from sending a stream request to its first body byte, sequential calls on one connection."""
    parts = urlsplit(target.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    times = []
    try:
        for _ in range(count + 1):
            started = time.perf_counter()
            conn.request(
                "POST", parts.path, body=STREAM_BODY, headers={**target.headers, "content-type": "application/json"}
            )
            response = conn.getresponse()
            response.read(1)
            times.append((time.perf_counter() - started) * 1000)
            response.read()
            require(response.status == 200, f"{target.name} stream answered {response.status}")
    finally:
        conn.close()
    return statistics.median(times[1:])  # the first call opens the connections


def _measure(target: Target, *, seconds: float) -> tuple[list[Measure], int]:
    """The target's runs, and how many warm-up calls it answered besides."""
    measures, warm = [], 0
    for kind in KINDS:
        body = STREAM_BODY if kind == "stream" else BODY
        warm += wrk_run(target.url, body=body, headers=target.headers, connections=8, seconds=1).requests
        for load, connections, rate in LOADS:
            cpu_before = _cpu(target)
            result = wrk_run(
                target.url, body=body, headers=target.headers, connections=connections, seconds=seconds, rate=rate
            )
            require(result.requests > 0, f"{target.name} answered no call ({kind}, {load})")
            if target.name in ("direct", "gateway"):
                require_equal(result.errors, 0, f"errors from {target.name} ({kind}, {load})")
            elif result.errors:
                # A peer's failures are its result: reported, not a failed benchmark.
                print(f"   {target.name} {kind} {load}: {result.errors} of {result.requests} calls failed", flush=True)
            cpu = (_cpu(target) - cpu_before) * 1000 / result.requests if target.process is not None else None
            measures.append(Measure(target.name, kind, load, result, cpu))
            print(
                f"   {target.name:8} {kind:6} {load:16} {result.rps:7.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                f"p99 {result.p99_ms:7.2f} ms" + (f"  CPU {cpu:.2f} ms/call" if cpu is not None else ""),
                flush=True,
            )
    return measures, warm


def gateway_run(config: Config, env: dict[str, str]) -> GatewayFigures:
    from django.db.models import Count, Sum

    from apps.gateway.usage import openai_chat_tokens
    from apps.org.models import Team
    from apps.pricing.rating import TokenCounts, catalog, event_rate
    from apps.usage.models import UsageEvent
    from apps.usage.services import api_key_create

    from .events import registry_create
    from .gateway_upstream import USAGE

    registry_create()
    _, raw_key = api_key_create(
        team=Team.objects.get(slug="search"),
        name="gateway-bench",
        pinned_tags={"team": "search"},
        default_tags={"environment": "staging"},
    )
    logs = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    upstream, upstream_url = _serve("bench.gateway_upstream:app", env, logs / "upstream.log")
    gateway_env = {
        **env,
        "GATEWAY_OPENAI_UPSTREAM": upstream_url,
        "GATEWAY_OPENAI_API_KEY": "sk-bench",
        "GATEWAY_REDIS_URL": config.redis_url,
    }
    gateway, gateway_url = _serve("attribution_site.asgi:application", gateway_env, logs / "gateway.log")
    targets = [
        Target("direct", f"{upstream_url}/v1/chat/completions", {"authorization": "Bearer sk-direct"}),
        Target(
            "gateway",
            f"{gateway_url}/gateway/openai/v1/chat/completions",
            {"authorization": f"Bearer {raw_key}"},
            gateway,
        ),
    ]
    unavailable: dict[str, str] = {}
    if config.gateway_peers:
        for start in (portkey_start, litellm_start):
            peer = start(upstream_url, logs)
            if isinstance(peer, Unavailable):
                unavailable[peer.name] = peer.reason
                print(f"   {peer.name}: {peer.reason}", flush=True)
            else:
                targets.append(peer)
    else:
        unavailable = {"portkey": "not run (smoke)", "litellm": "not run (smoke)"}
    measures: list[Measure] = []
    first_byte: dict[str, float] = {}
    rss: dict[str, float] = {}
    probes = 20 if config.smoke else 200
    warm: dict[str, int] = {}
    try:
        for target in targets:
            runs, warm[target.name] = _measure(target, seconds=config.gateway_seconds)
            measures += runs
            if not any(m.result.errors for m in runs if m.kind == "stream"):
                first_byte[target.name] = _first_byte_ms(target, probes)
            if target.process is not None:
                rss[target.name] = _peak_rss_mb(target)
        answered = sum(m.result.requests for m in measures if m.target == "gateway") + warm["gateway"] + probes + 1
        deadline = time.monotonic() + 120
        while UsageEvent.objects.filter(source="gateway").count() < answered and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # calls cut off at the end of a run are recorded too
    finally:
        for target in targets[1:]:
            target.stop()
        upstream.terminate()
        upstream.wait(timeout=20)
    tokens = openai_chat_tokens(USAGE)
    each = event_rate(
        provider="openai",
        model="gpt-4o",
        timestamp=datetime.now(UTC),
        service_tier="standard",
        prices=catalog.get(),
        tokens=TokenCounts(**tokens),
    ).billed_cost
    stored = UsageEvent.objects.filter(source="gateway").aggregate(n=Count("id"), ids=Count("event_id", distinct=True))
    answered_rows = UsageEvent.objects.filter(source="gateway", outcome="success").aggregate(
        n=Count("id"), cost=Sum("billed_cost")
    )
    # wrk stops each run with calls in flight: the gateway records them too (a JSON call whole, a
    # stream as far as it got), at most one per connection per run (a warm-up and three runs a kind).
    in_flight = len(KINDS) * (8 + sum(connections for _, connections, _ in LOADS))
    require(
        answered <= stored["n"] <= answered + in_flight,
        f"gateway events stored: {stored['n']} for {answered} answered calls",
    )
    require_equal(stored["ids"], stored["n"], "distinct response ids")
    require(answered_rows["n"] >= answered, "every answered call stored with outcome success")
    require_equal(answered_rows["cost"], each * answered_rows["n"], "total billed cost of the answered calls")
    require(each > 0, "gpt-4o is priced")
    return GatewayFigures(
        measures=measures,
        first_byte_ms=first_byte,
        rss_mb=rss,
        unavailable=unavailable,
        events=stored["n"],
        cost_each=str(each),
        seconds=config.gateway_seconds,
    )


def _cell(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.2f}{unit}"


def _targets_met(f: GatewayFigures) -> list[str]:
    lines = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    for kind, target in (("json", TARGET_CPU_JSON_MS), ("stream", TARGET_CPU_STREAM_MS)):
        cpu = max(m.cpu_ms_per_call for m in f.measures if m.target == "gateway" and m.kind == kind)
        lines.append(f"gateway CPU per {kind} call ≤ {target} ms: {cpu:.2f} ms at worst, {verdict(cpu <= target)}")
    portkey = f.get("portkey", "json", "8 connections")
    ours = f.get("gateway", "json", "8 connections")
    if portkey is not None:
        ratio = ours.result.rps / portkey.result.rps
        lower = ours.result.p99_ms < portkey.result.p99_ms
        lines.append(
            f"≥ 2× Portkey's req/s at 8 connections with a lower p99: {ratio:.2f}×, p99 {ours.result.p99_ms:.2f} vs "
            f"{portkey.result.p99_ms:.2f} ms, {verdict(ratio >= 2 and lower)}"
        )
    else:
        lines.append(f"≥ 2× Portkey's req/s: not measured (Portkey {f.unavailable.get('portkey', 'unavailable')})")
    p50 = f.added("gateway", "json", "1 connection", 50)
    lines.append(f"added p50 ≤ {TARGET_P50_MS} ms at 1 connection: {p50:+.2f} ms, {verdict(p50 <= TARGET_P50_MS)}")
    paced = f"{PACED_RPS} req/s paced"
    p99 = max(f.added("gateway", kind, paced, 99) for kind in KINDS)
    lines.append(f"added p99 ≤ {TARGET_P99_MS} ms at {paced}: {p99:+.2f} ms, {verdict(p99 <= TARGET_P99_MS)}")
    ttfb = f.first_byte_ms["gateway"] - f.first_byte_ms["direct"]
    lines.append(
        f"added first byte ≤ {TARGET_TTFB_MS} ms for streams: {ttfb:+.2f} ms, {verdict(ttfb <= TARGET_TTFB_MS)}"
    )
    rss = f.rss_mb["gateway"]
    lines.append(f"RSS ≤ {TARGET_RSS_MB} MB per process: {rss:.0f} MB, {verdict(rss <= TARGET_RSS_MB)}")
    return lines


def gateway_report(f: GatewayFigures, head: list[str]) -> str:
    stamp, commit, machine, busy = head
    lines = [
        f"### Run of {stamp} (commit {commit}; {machine}; other load before the run {busy} cores)",
        "",
        f"wrk, {f.seconds:g} s per run. Added = target − direct at the same load.",
        "",
        "| Target | Calls | Load | req/s | p50 ms | p99 ms | Added p50 ms | Added p99 ms | CPU ms/call | Failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in f.measures:
        added = m.target != "direct"
        lines.append(
            f"| {m.target} | {m.kind} | {m.load} | {m.result.rps:,.0f} | {m.result.p50_ms:.2f} | "
            f"{m.result.p99_ms:.2f} | "
            f"{_cell(f.added(m.target, m.kind, m.load, 50) if added else None)} | "
            f"{_cell(f.added(m.target, m.kind, m.load, 99) if added else None)} | {_cell(m.cpu_ms_per_call)} | "
            f"{m.result.errors:,} |"
        )
    lines.append("")
    lines.append(
        "Stream first byte, median of sequential calls: "
        + ", ".join(f"{t} {v:.2f} ms" for t, v in f.first_byte_ms.items())
        + ". Peak RSS: "
        + ", ".join(f"{t} {v:.0f} MB" for t, v in f.rss_mb.items())
        + "."
    )
    for peer, reason in f.unavailable.items():
        lines.append(f"{peer}: {reason}.")
    ours = f.get("gateway", "json", "8 connections")
    for peer in ("portkey", "litellm"):
        theirs = f.get(peer, "json", "8 connections")
        if theirs is None:
            continue
        cpu_ratio = []
        for kind in KINDS:
            if f.get(peer, kind, "8 connections").result.errors:
                cpu_ratio.append(f"{kind}: their calls failed")
                continue
            theirs_cpu = f.get(peer, kind, "8 connections").cpu_ms_per_call
            ours_cpu = f.get("gateway", kind, "8 connections").cpu_ms_per_call
            cpu_ratio.append(f"{kind} CPU/call {theirs_cpu / ours_cpu:.2f}×")
        lines.append(
            f"Against {peer} (8 connections, JSON): req/s {ours.result.rps / theirs.result.rps:.2f}× theirs, "
            f"p99 {ours.result.p99_ms:.2f} vs {theirs.result.p99_ms:.2f} ms; theirs / ours: {', '.join(cpu_ratio)}."
        )
    lines.append(f"Database: {f.events:,} gateway events, every answered call ${f.cost_each}, exact.")
    lines.append("")
    lines.append("Targets: " + "; ".join(_targets_met(f)) + ".")
    return "\n".join(lines) + "\n"


def gateway_record(figures: GatewayFigures, *, head: list[str], record: bool) -> None:
    """Append the run's block to the gateway section of docs/benchmarks.md (history kept)."""
    from .report import DOC

    report = gateway_report(figures, head)
    print(report)
    if not record:
        return
    marker = "<!-- bench:gateway-peers:runs -->"
    text = DOC.read_text()
    if marker not in text:
        raise SystemExit(f"{DOC} lost its marker {marker}; put it back in the gateway section.")
    before, _, after = text.partition(marker)
    DOC.write_text(before.rstrip("\n") + "\n\n" + report + "\n" + marker + after)
    print(f"recorded in {DOC.relative_to(ROOT)}")
