"""`python -m bench gateway`: the same calls direct to a loopback upstream and through the gateway.

Added latency is the gateway's percentile minus the direct one at the same concurrency; streams
also compare the time to the first body byte. Afterwards the database must hold exactly one
gateway event per call through it, each priced exactly as the rating function prices its usage.
"""

from __future__ import annotations

import asyncio
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from .checks import require, require_equal
from .config import Config
from .server import ROOT, port_free, process_cpu_seconds, process_status_kb

PACED_RPS = 500
TARGET_P50_MS, TARGET_P99_MS, TARGET_TTFB_MS, TARGET_RSS_MB = 1.0, 5.0, 2.0, 200
BODY = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
STREAM_BODY = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "stream": True})


@dataclass
class Run:
    target: str  # direct | gateway
    kind: str  # json | stream
    clients: int
    paced: bool
    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_ms_per_call: float = 0.0  # the gateway process's CPU time per call (0 for direct runs)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: int, values: list[float] | None = None) -> float:
        values = sorted(values if values is not None else self.latencies)
        return values[min(len(values) - 1, int(len(values) * q / 100))] * 1000


@dataclass
class GatewayFigures:
    runs: list[Run]
    rss_mb: float
    events: int
    cost_each: str
    requests: int  # timed calls per run (BENCH_GATEWAY_REQUESTS)

    def added(self, kind: str, clients: int, paced: bool, q: int, first_byte: bool = False) -> float:
        def pick(target):
            return next(
                r for r in self.runs if (r.target, r.kind, r.clients, r.paced) == (target, kind, clients, paced)
            )

        direct, gateway = pick("direct"), pick("gateway")
        if first_byte:
            return gateway.p(q, gateway.first_bytes) - direct.p(q, direct.first_bytes)
        return gateway.p(q) - direct.p(q)


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


async def _load(url: str, headers: dict, run: Run, count: int) -> None:
    body = STREAM_BODY if run.kind == "stream" else BODY
    limits = httpx.Limits(max_connections=run.clients, max_keepalive_connections=run.clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> None:
            started = time.perf_counter()
            async with client.stream("POST", url, content=body, headers=headers) as response:
                first = None
                async for _ in response.aiter_raw():
                    if first is None:
                        first = time.perf_counter() - started
                require(response.status_code == 200, f"{url} answered {response.status_code}")
            run.latencies.append(time.perf_counter() - started)
            run.first_bytes.append(first)

        # Warm the pools (connections to client and upstream) before timing.
        await asyncio.gather(*(one() for _ in range(run.clients)))
        run.latencies.clear()
        run.first_bytes.clear()
        started = time.perf_counter()
        if run.paced:
            slots = asyncio.Semaphore(run.clients)

            async def paced(index: int) -> None:
                await asyncio.sleep(max(0.0, started + index / PACED_RPS - time.perf_counter()))
                async with slots:
                    await one()

            await asyncio.gather(*(paced(i) for i in range(count)))
        else:
            remaining = iter(range(count))

            async def worker() -> None:
                for _ in remaining:
                    await one()

            await asyncio.gather(*(worker() for _ in range(run.clients)))
        run.seconds = time.perf_counter() - started


def gateway_run(config: Config, env: dict[str, str]) -> GatewayFigures:
    import uvloop
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
    runs: list[Run] = []
    try:
        urls = {
            "direct": (f"{upstream_url}/v1/chat/completions", {"authorization": "Bearer sk-direct"}),
            "gateway": (f"{gateway_url}/gateway/openai/v1/chat/completions", {"authorization": f"Bearer {raw_key}"}),
        }
        plan = [(kind, clients, False) for kind in ("json", "stream") for clients in (8, 64)]
        plan += [("json", 64, True), ("stream", 64, True)]
        for kind, clients, paced in plan:
            for target in ("direct", "gateway"):
                run = Run(target=target, kind=kind, clients=clients, paced=paced)
                url, headers = urls[target]
                cpu_before = process_cpu_seconds(gateway.pid)
                uvloop.run(_load(url, headers, run, config.gateway_requests))
                if target == "gateway":
                    calls_made = len(run.latencies) + run.clients
                    run.cpu_ms_per_call = (process_cpu_seconds(gateway.pid) - cpu_before) * 1000 / calls_made
                runs.append(run)
                label = f"{PACED_RPS} req/s paced" if paced else f"{clients} clients"
                print(
                    f"   {target:8} {kind:6} {label:18} {run.rps:7.0f} req/s  p50 {run.p(50):6.2f} ms  "
                    f"p99 {run.p(99):6.2f} ms  first byte p50 {run.p(50, run.first_bytes):6.2f} ms  "
                    f"gateway CPU {run.cpu_ms_per_call:.2f} ms/call",
                    flush=True,
                )
        rss_mb = process_status_kb(gateway.pid, "VmHWM") / 1024
        calls = sum(len(r.latencies) + r.clients for r in runs if r.target == "gateway")
        deadline = time.monotonic() + 120
        while UsageEvent.objects.filter(source="gateway").count() < calls and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        gateway.terminate()
        upstream.terminate()
        gateway.wait(timeout=20)
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
    stored = UsageEvent.objects.filter(source="gateway").aggregate(
        n=Count("id"), ids=Count("event_id", distinct=True), cost=Sum("billed_cost")
    )
    require_equal(stored["n"], calls, "gateway events stored (one per call)")
    require_equal(stored["ids"], calls, "distinct response ids")
    require_equal(stored["cost"], each * calls, "total billed cost of the gateway events")
    require(each > 0, "gpt-4o is priced")
    return GatewayFigures(runs=runs, rss_mb=rss_mb, events=calls, cost_each=str(each), requests=config.gateway_requests)


def gateway_record(figures: GatewayFigures, *, head: list[str], record: bool) -> None:
    """Append a row to the gateway table of docs/benchmarks.md (history kept)."""
    from .report import DOC

    f = figures
    cells = [
        *head,
        f"{f.requests:,} per run",
        " / ".join(f"{f.added('json', c, False, 50):+.2f}" for c in (8, 64)),
        " / ".join(f"{f.added('json', c, False, 99):+.2f}" for c in (8, 64)),
        f"{f.added('json', 64, True, 50):+.2f} / {f.added('json', 64, True, 99):+.2f}",
        " / ".join(f"{f.added('stream', c, False, 50, first_byte=True):+.2f}" for c in (8, 64)),
        " / ".join(
            f"{next(r for r in f.runs if (r.target, r.kind, r.clients, r.paced) == (t, 'json', 64, False)).rps:,.0f}"
            for t in ("direct", "gateway")
        ),
        f"{f.rss_mb:.0f}",
        f"{f.events:,} events, ${f.cost_each} each, exact",
    ]
    row = "| " + " | ".join(cells) + " |"
    print(row)
    details = "\n".join(
        f"- {r.target} {r.kind} {'500 req/s paced' if r.paced else f'{r.clients} clients'}: {r.rps:,.0f} req/s, "
        f"p50 {r.p(50):.2f} ms, p99 {r.p(99):.2f} ms, first byte p50 {r.p(50, r.first_bytes):.2f} ms, "
        f"mean {statistics.fmean(r.latencies) * 1000:.2f} ms"
        + (f", gateway CPU {r.cpu_ms_per_call:.2f} ms per call (drain included)" if r.target == "gateway" else "")
        for r in f.runs
    )
    print(details)
    if not record:
        return
    marker = "<!-- bench:gateway:rows -->"
    text = DOC.read_text()
    if marker not in text:
        raise SystemExit(f"{DOC} lost its marker {marker}; put it back under the gateway table.")
    before, _, after = text.partition(marker)
    text = before.rstrip("\n") + "\n" + row + "\n\n" + marker + after
    start, end = "<!-- bench:gateway:latest -->", "<!-- /bench:gateway:latest -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    DOC.write_text(f"{before}{start}\nRun of {head[0]}:\n\n{details}\n{end}{after}")
    print(f"recorded in {DOC.relative_to(ROOT)}")
