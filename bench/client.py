"""Load clients: processes of threads POSTing prepared bodies over loopback HTTP, timing each one.

Bodies are serialized before the clock starts, so the clients spend their CPU on HTTP only; a few
processes keep one client interpreter's GIL from capping the request rate on two cores.
"""

from __future__ import annotations

import http.client
import itertools
import multiprocessing
import threading
import time
from dataclasses import dataclass, field

import orjson

PATH = "/api/v1/events"
OTLP_PATH = "/otlp/v1/traces"


@dataclass
class LoadResult:
    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    sent: list[int] = field(default_factory=list)  # indexes of the bodies the server answered
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    started: float = float("inf")
    finished: float = 0.0
    client_cpu_seconds: float = 0.0
    # Percentiles a load generator reported itself (wrk keeps no list of latencies).
    quantiles_ms: dict[float, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def merge(self, other: LoadResult) -> None:
        self.requests += other.requests
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.sent += other.sent
        self.latencies += other.latencies
        self.errors += other.errors[: max(0, 5 - len(self.errors))]
        self.error_count += other.error_count
        self.started = min(self.started, other.started)
        self.finished = max(self.finished, other.finished)
        self.client_cpu_seconds += other.client_cpu_seconds

    def percentile_ms(self, p: float) -> float:
        if p in self.quantiles_ms:
            return self.quantiles_ms[p]
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass(frozen=True)
class _Share:
    """One client process's work: bodies[first::step], its threads, and when to stop."""

    port: int
    api_key: str
    bodies: list[bytes]
    first: int
    step: int
    threads: int
    stop_after_s: float
    path: str = PATH
    content_type: str = "application/json"


def _client_thread(share: _Share, headers: dict, claim, stop_at: float, out: LoadResult, lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", share.port, timeout=60)
    local = LoadResult()
    for i in claim:
        if i >= len(share.bodies) or time.monotonic() >= stop_at:
            break
        start = time.perf_counter()
        try:
            conn.request("POST", share.path, share.bodies[i], headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            local.error_count += 1
            local.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        local.latencies.append(time.perf_counter() - start)
        local.requests += 1
        if response.status != (202 if share.path == PATH else 200):
            local.error_count += 1
            local.errors.append(f"HTTP {response.status}: {payload[:300]!r}")
            continue
        local.sent.append(share.first + i * share.step)
        if share.path == OTLP_PATH:
            local.rejected += _otlp_rejected(payload)
            continue
        result = orjson.loads(payload)
        local.accepted += result["accepted"]
        local.duplicates += result["duplicates"]
        local.rejected += len(result["rejected"])
        if result["rejected"] and len(local.errors) < 5:
            local.errors.append(f"rejected: {result['rejected'][:2]}")
    conn.close()
    with lock:
        out.merge(local)


def _otlp_rejected(payload: bytes) -> int:
    """OTLP answers with no accepted count, only the spans it rejected (checked against the database)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    response = ExportTraceServiceResponse()
    response.ParseFromString(payload)
    return response.partial_success.rejected_spans


def _client_process(share: _Share, barrier, queue) -> None:
    headers = {"Authorization": f"Bearer {share.api_key}", "Content-Type": share.content_type}
    out = LoadResult()
    lock = threading.Lock()
    claim = itertools.count()  # next() on a count is atomic under the GIL: each body is sent once
    barrier.wait()
    cpu = time.process_time()
    out.started = time.monotonic()
    stop_at = out.started + share.stop_after_s
    threads = [
        threading.Thread(target=_client_thread, args=(share, headers, claim, stop_at, out, lock))
        for _ in range(share.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.finished = time.monotonic()
    out.client_cpu_seconds = time.process_time() - cpu
    queue.put(out)


class ClientPool:
    """Forks the client processes up front (before any measuring thread exists in this process);
    `run()` releases them together and collects what they saw."""

    def __init__(
        self,
        *,
        port: int,
        api_key: str,
        bodies: list[bytes],
        clients: int,
        processes: int,
        stop_after_s,
        path: str = PATH,
        content_type: str = "application/json",
    ):
        from django.db import connections

        connections.close_all()  # forked clients must not inherit this process's database socket
        processes = max(1, min(processes, clients))
        context = multiprocessing.get_context("fork")
        self.barrier = context.Barrier(processes + 1)
        self.queue = context.Queue()
        self.stop_after_s = stop_after_s
        self.processes = [
            context.Process(
                target=_client_process,
                args=(
                    _Share(
                        port=port,
                        api_key=api_key,
                        bodies=bodies[p::processes],
                        first=p,
                        step=processes,
                        threads=clients // processes + (p < clients % processes),
                        stop_after_s=stop_after_s,
                        path=path,
                        content_type=content_type,
                    ),
                    self.barrier,
                    self.queue,
                ),
                daemon=True,
            )
            for p in range(processes)
        ]
        for process in self.processes:
            process.start()

    def run(self) -> LoadResult:
        self.barrier.wait()
        total = LoadResult()
        for _ in self.processes:
            total.merge(self.queue.get(timeout=self.stop_after_s + 180))
        for process in self.processes:
            process.join()
        total.sent.sort()
        return total
