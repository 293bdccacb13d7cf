"""Heavy readers: client processes asking /api/v1/costs for the largest reports it allows, in a loop,
while ingestion is measured."""

from __future__ import annotations

import http.client
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode


def heavy_queries(today: date) -> list[str]:
    """Wide reports the API answers (a wider one is a 400 before it reads anything), a full page
    each: every team's customers or models by day over a month, and products and models over 400 days."""
    month = {"start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat(), "page_size": 1000}
    long = {"start": (today - timedelta(days=399)).isoformat(), "end": today.isoformat(), "page_size": 1000}
    return [
        "/api/v1/costs?" + urlencode({**month, "group_by": "team,customer"}),
        "/api/v1/costs?" + urlencode({**long, "group_by": "team,product,model,month"}),
        "/api/v1/costs?" + urlencode({**month, "group_by": "team,model,day"}),
        "/api/v1/costs?" + urlencode({**long, "group_by": "team,feature,environment,month"}),
    ]


@dataclass
class ReadResult:
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    rows: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: ReadResult) -> None:
        self.statuses.update(other.statuses)
        self.latencies += other.latencies
        self.rows += other.rows
        self.errors += other.errors[: max(0, 3 - len(self.errors))]

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies) or [0.0]
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def describe(self) -> str:
        statuses = ", ".join(f"{n} × HTTP {s}" for s, n in sorted(self.statuses.items(), key=str))
        return (
            f"{sum(self.statuses.values())} reports ({statuses}), {self.rows:,} rows, "
            f"p50 {self.percentile_ms(50):.0f} ms, p95 {self.percentile_ms(95):.0f} ms"
        )


def finance_session() -> str:
    """A signed-in session of a staff user, who sees every team: the widest reports there are."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = get_user_model().objects.get_or_create(username="bench-reader", defaults={"is_staff": True})
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.create()
    return session.session_key


def _reader(port: int, session_key: str, queries: list[str], first: int, stop, queue) -> None:
    import orjson

    out = ReadResult()
    headers = {"Cookie": f"sessionid={session_key}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    i = first
    while not stop.is_set():
        start = time.perf_counter()
        try:
            conn.request("GET", queries[i % len(queries)], headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            out.errors.append(f"{type(exc).__name__}: {exc}")
            out.statuses["error"] += 1
            continue
        out.latencies.append(time.perf_counter() - start)
        out.statuses[response.status] += 1
        if response.status == 200:
            out.rows += len(orjson.loads(payload)["rows"])
        elif response.status == 429:
            # As a well-behaved client: wait as told (reports run a few at a time), then ask again.
            stop.wait(float(response.getheader("Retry-After") or 1))
            conn.close()  # a server that keeps connections alive (gthread: 2 s) closes an idle one
            continue
        elif len(out.errors) < 3:
            out.errors.append(f"HTTP {response.status}: {payload[:200]!r}")
        i += 1
    conn.close()
    queue.put(out)


class ReaderPool:
    """`readers` processes, forked before measuring starts; they read from `start()` to `stop()`."""

    def __init__(self, *, port: int, session_key: str, queries: list[str], readers: int):
        from django.db import connections

        connections.close_all()
        context = multiprocessing.get_context("fork")
        self.stop_event = context.Event()
        self.queue = context.Queue()
        self.processes = [
            context.Process(
                target=_reader, args=(port, session_key, queries, n, self.stop_event, self.queue), daemon=True
            )
            for n in range(readers)
        ]

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def stop(self) -> ReadResult:
        self.stop_event.set()
        total = ReadResult()
        for _ in self.processes:
            total.merge(self.queue.get(timeout=300))
        for process in self.processes:
            process.join()
        return total
