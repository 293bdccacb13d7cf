"""`python -m bench gateway --soak SECONDS`: two gateway processes at 200 req/s for a long run, with
faults, every call checked against the database.

Calls alternate JSON and 20-chunk streams on a fixed schedule (an open-loop asyncio client: a slow
answer does not slow the offered rate) and alternate between the two processes. Of every 200 calls
the loopback upstream cuts 2 mid-body and lets 2 hang past the gateway's upstream timeout
(`x-bench-fault`, bench.gateway_upstream), one JSON call and one stream each: 1% each. Each call
carries a unique `X-Attribution-Trace-Id`, so once the Redis list is drained the database says,
call by call, whether it was stored once, never (lost) or more than once, and with which outcome
(docs/gateway.md, Recording: a cut call is `upstream_disconnected`, a hung one `upstream_timeout`).
The gateways' resident memory is read from /proc every few seconds: growth is the end's over the
reading after warm-up (the first 10% of the run).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from .checks import require, require_equal
from .config import Config
from .gateway import BODY, STREAM_BODY, _serve
from .server import process_cpu_seconds, process_status_kb

SOAK_RPS = 200
PROCESSES = 2
# The gateway's GATEWAY_UPSTREAM_TIMEOUT_SECONDS for the soak: a hung call ends after this.
UPSTREAM_TIMEOUT_S = 2
TARGET_RSS_GROWTH = 0.10
WARM_UP_SHARE = 0.10
RSS_EVERY_S = 5
# Below this the run is all warm-up: its RSS growth is reported, not checked (the smoke's soak).
RSS_CHECKED_FROM_S = 60
# Call index modulo 200 → the upstream's fault: odd indexes are streams, even ones JSON.
FAULTS = {37: "cut", 138: "cut", 73: "hang", 174: "hang"}
# (kind, fault) → the status the client receives and the outcome its event is stored with.
EXPECTED = {
    ("json", ""): (200, "success"),
    ("stream", ""): (200, "success"),
    ("json", "cut"): (502, "upstream_disconnected"),
    ("stream", "cut"): (200, "upstream_disconnected"),
    ("json", "hang"): (504, "upstream_timeout"),
    ("stream", "hang"): (200, "upstream_timeout"),
}


@dataclass(frozen=True)
class SoakCall:
    index: int
    kind: str  # json or stream
    fault: str  # "", cut or hang

    @property
    def trace_id(self) -> str:
        return f"soak-{self.index}"

    @property
    def expected(self) -> tuple[int, str]:
        return EXPECTED[(self.kind, self.fault)]


def soak_call(index: int) -> SoakCall:
    return SoakCall(index=index, kind="stream" if index % 2 else "json", fault=FAULTS.get(index % 200, ""))


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection failed)
    complete: bool  # a stream ended with [DONE]; a JSON call's body carried its usage
    ms: float
    error: str = ""

    def as_expected(self, call: SoakCall) -> bool:
        status, outcome = call.expected
        return self.status == status and self.complete == (outcome == "success")


@dataclass(frozen=True)
class Tally:
    stored: int  # events carrying a soak trace id
    lost: int  # answered calls with no event
    twice: int  # calls with more than one event
    wrong_outcome: int  # calls stored once, with an outcome other than the one expected
    examples: list[str]


def soak_tally(*, answered: dict[str, str], stored: list[tuple[str, str]]) -> Tally:
    """Answered calls (trace id → expected outcome) against the events stored (trace id, outcome)."""
    counts = Counter(trace_id for trace_id, _ in stored)
    outcomes = dict(stored)
    lost = [t for t in answered if counts[t] == 0]
    twice = [t for t, n in counts.items() if n > 1]
    wrong = [t for t, outcome in answered.items() if counts[t] == 1 and outcomes[t] != outcome]
    examples = [f"lost {t}" for t in lost[:3]] + [f"stored {counts[t]}× {t}" for t in twice[:3]]
    examples += [f"{t} stored as {outcomes[t]}, expected {answered[t]}" for t in wrong[:3]]
    return Tally(stored=len(stored), lost=len(lost), twice=len(twice), wrong_outcome=len(wrong), examples=examples)


@dataclass
class RssSamples:
    """Each gateway process's VmRSS (kB) over the run, as (seconds since the start, kB)."""

    samples: dict[int, list[tuple[float, int]]] = field(default_factory=dict)

    def read(self, pids: list[int], at: float) -> None:
        for pid in pids:
            self.samples.setdefault(pid, []).append((at, process_status_kb(pid, "VmRSS")))

    def warm_and_end_kb(self, pid: int, warm_up_s: float) -> tuple[int, int]:
        series = self.samples[pid]
        warm = next((kb for at, kb in series if at >= warm_up_s), series[-1][1])
        return warm, series[-1][1]

    def growth(self, warm_up_s: float) -> float:
        """The largest growth of any process from warm-up to the end (0.05 = 5%)."""
        return max(end / warm - 1 for warm, end in (self.warm_and_end_kb(p, warm_up_s) for p in self.samples))


@dataclass
class SoakFigures:
    seconds: int
    offered_rps: float  # calls sent / time taken to send them
    calls: Counter  # (kind, fault) → calls
    unexpected: int  # answers other than the expected status and completeness
    unexpected_examples: list[str]
    tally: Tally
    rss: RssSamples
    warm_up_s: float
    cpu_ms_per_call: float
    p50_ms: float  # calls without a fault, whole call
    p99_ms: float
    load_average: tuple[float, float, float]  # at the end of the load


async def _drive(urls: list[str], headers: dict[str, str], *, seconds: int, pids: list[int], rss: RssSamples):
    count = seconds * SOAK_RPS
    answers: dict[int, Answer] = {}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(call: SoakCall) -> None:
            call_headers = {**headers, "content-type": "application/json", "x-attribution-trace-id": call.trace_id}
            if call.fault:
                call_headers["x-bench-fault"] = call.fault
            body = STREAM_BODY if call.kind == "stream" else BODY
            clock = time.perf_counter()
            try:
                async with session.post(urls[(call.index // 2) % len(urls)], data=body, headers=call_headers) as r:
                    content = await r.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                answers[call.index] = Answer(0, False, (time.perf_counter() - clock) * 1000, repr(exc))
                return
            complete = b"data: [DONE]" in content if call.kind == "stream" else b'"usage"' in content
            answers[call.index] = Answer(r.status, complete, (time.perf_counter() - clock) * 1000)

        async def sample() -> None:
            every = RSS_EVERY_S if seconds >= RSS_CHECKED_FROM_S else 1
            while True:
                rss.read(pids, time.perf_counter() - started)
                await asyncio.sleep(every)

        tasks: set[asyncio.Task] = set()
        started = time.perf_counter()
        sampler = asyncio.create_task(sample())
        for index in range(count):
            delay = started + index / SOAK_RPS - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(soak_call(index)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_s = time.perf_counter() - started
        await asyncio.gather(*tasks)
        sampler.cancel()
        rss.read(pids, time.perf_counter() - started)
    return answers, count / sent_s


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values or [0.0])[0]


def _soak_events():
    from apps.usage.models import UsageEvent

    return UsageEvent.objects.filter(source="gateway", trace_id__startswith="soak-")


def _drained(answered: int, *, redis_url: str, deadline_s: float) -> None:
    """Wait until the database holds an event per answered call and the Redis list is empty."""
    import redis

    from apps.gateway.services import EVENTS_LIST

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if _soak_events().count() >= answered and client.llen(EVENTS_LIST) == 0:
            break
        time.sleep(0.5)
    time.sleep(2)  # a second drain of the same entries would show up as events stored twice


def soak_run(config: Config, env: dict[str, str], *, seconds: int) -> SoakFigures:
    import uvloop

    from apps.org.models import Team
    from apps.usage.services import api_key_create

    from .events import registry_create

    registry_create()
    _, raw_key = api_key_create(
        team=Team.objects.get(slug="search"),
        name="gateway-soak",
        pinned_tags={"team": "search"},
        default_tags={"environment": "staging"},
    )
    logs = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    upstream, upstream_url = _serve("bench.gateway_upstream:app", env, logs / "upstream.log")
    gateway_env = {
        **env,
        "GATEWAY_OPENAI_UPSTREAM": upstream_url,
        "GATEWAY_OPENAI_API_KEY": "sk-bench",
        "GATEWAY_REDIS_URL": config.redis_url,
        "GATEWAY_UPSTREAM_TIMEOUT_SECONDS": str(UPSTREAM_TIMEOUT_S),
    }
    gateways = [
        _serve("attribution_site.asgi:application", gateway_env, logs / f"gateway-{i}.log")
        for i in range(1, PROCESSES + 1)
    ]
    pids = [process.pid for process, _ in gateways]
    urls = [f"{url}/gateway/openai/v1/chat/completions" for _, url in gateways]
    rss = RssSamples()
    print(
        f"   {seconds} s at {SOAK_RPS} req/s through {PROCESSES} gateway processes "
        f"(upstream timeout {UPSTREAM_TIMEOUT_S} s; logs in {logs})",
        flush=True,
    )
    try:
        cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
        answers, offered = uvloop.run(
            _drive(urls, {"authorization": f"Bearer {raw_key}"}, seconds=seconds, pids=pids, rss=rss)
        )
        load_average = os.getloadavg()
        answered_count = sum(1 for a in answers.values() if a.status)
        _drained(answered_count, redis_url=config.redis_url, deadline_s=300)
        cpu_ms = (sum(process_cpu_seconds(pid) for pid in pids) - cpu_before) * 1000 / len(answers)
    finally:
        for process, _ in gateways:
            process.terminate()
        upstream.terminate()
        for process, _ in [*gateways, (upstream, "")]:
            process.wait(timeout=20)
    calls = {index: soak_call(index) for index in answers}
    unexpected = [(calls[i], a) for i, a in sorted(answers.items()) if not a.as_expected(calls[i])]
    answered = {calls[i].trace_id: calls[i].expected[1] for i, a in answers.items() if a.status}
    stored = list(_soak_events().values_list("trace_id", "outcome"))
    plain = [a.ms for i, a in answers.items() if not calls[i].fault and a.status]
    figures = SoakFigures(
        seconds=seconds,
        offered_rps=offered,
        calls=Counter((c.kind, c.fault) for c in calls.values()),
        unexpected=len(unexpected),
        unexpected_examples=[
            f"{c.trace_id} ({c.kind}, {c.fault or 'no fault'}): {a.status}, complete {a.complete} {a.error}"
            for c, a in unexpected[:5]
        ],
        tally=soak_tally(answered=answered, stored=stored),
        rss=rss,
        warm_up_s=seconds * WARM_UP_SHARE,
        cpu_ms_per_call=cpu_ms,
        p50_ms=_percentile(plain, 50),
        p99_ms=_percentile(plain, 99),
        load_average=load_average,
    )
    print(soak_summary(figures), flush=True)
    t = figures.tally
    require(not unexpected, f"{len(unexpected)} calls answered otherwise than expected: {figures.unexpected_examples}")
    require_equal(t.lost, 0, f"soak calls lost (answered, no event) {t.examples}")
    require_equal(t.twice, 0, f"soak calls stored twice {t.examples}")
    require_equal(t.wrong_outcome, 0, f"soak calls stored with another outcome {t.examples}")
    require_equal(t.stored, len(answered), "soak events stored")
    growth = rss.growth(figures.warm_up_s)
    if seconds >= RSS_CHECKED_FROM_S:
        require(growth <= TARGET_RSS_GROWTH, f"gateway RSS grew {growth:.1%} after warm-up (target ≤ 10%)")
    else:
        print(f"   (a {seconds} s run is all warm-up: its RSS growth is not checked)", flush=True)
    return figures


def _rss_cell(f: SoakFigures) -> str:
    parts = []
    for pid in f.rss.samples:
        warm, end = f.rss.warm_and_end_kb(pid, f.warm_up_s)
        parts.append(f"{warm / 1024:.0f} → {end / 1024:.0f} MB")
    return ", ".join(parts)


def soak_summary(f: SoakFigures) -> str:
    t = f.tally
    faults = Counter(fault for (_, fault), n in f.calls.items() for _ in range(n))
    return (
        f"   {sum(f.calls.values()):,} calls at {f.offered_rps:.0f} req/s offered ({faults['cut']} cut, "
        f"{faults['hang']} hung); {sum(f.calls.values()) - f.unexpected:,} answered as expected; "
        f"{t.stored:,} events stored, lost {t.lost}, stored twice {t.twice}, other outcome {t.wrong_outcome}; "
        f"RSS after warm-up ({f.warm_up_s:.0f} s) → end: {_rss_cell(f)} (growth {f.rss.growth(f.warm_up_s):+.1%}); "
        f"CPU {f.cpu_ms_per_call:.2f} ms/call; p50 {f.p50_ms:.1f} ms, p99 {f.p99_ms:.1f} ms; "
        f"load average {' / '.join(f'{x:.2f}' for x in f.load_average)}"
    )


def soak_record(figures: SoakFigures, *, head: list[str], record: bool) -> None:
    """Append a row to the soak table of docs/benchmarks.md (history kept)."""
    from .report import row_record

    f, t = figures, figures.tally
    faults = Counter(fault for (_, fault), n in f.calls.items() for _ in range(n))
    kinds = Counter(kind for (kind, _), n in f.calls.items() for _ in range(n))
    growth = f.rss.growth(f.warm_up_s)
    met = "met" if growth <= TARGET_RSS_GROWTH else "**not met**"
    cells = [
        *head,
        " / ".join(f"{x:.2f}" for x in f.load_average),
        f"{f.seconds} s at {f.offered_rps:.0f} req/s, {PROCESSES} processes",
        f"{kinds['json']:,} / {kinds['stream']:,}",
        f"{faults['cut']} / {faults['hang']}",
        f"{sum(f.calls.values()) - f.unexpected:,}",
        f"{t.stored:,}",
        f"{t.lost}",
        f"{t.twice}",
        _rss_cell(f),
        f"{growth:+.1%} ({met})",
        f"{f.cpu_ms_per_call:.2f}",
        f"{f.p50_ms:.1f} / {f.p99_ms:.1f}",
    ]
    row_record("<!-- bench:gateway-soak:rows -->", cells, record=record)
