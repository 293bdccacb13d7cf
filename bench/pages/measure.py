"""Rendering a page with Django's test client in this process: timed, its queries counted, checked."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment

from ..checks import require, require_equal

MIN_TIMED_REQUESTS = 10


@dataclass
class PageTiming:
    name: str
    path: str
    seconds: list[float] = field(default_factory=list)
    queries: int = 0
    html_bytes: int = 0

    def percentile_ms(self, p: float) -> float:
        # Nearest rank, as the ingestion benchmark's client does: p95 of 30 is the 29th fastest.
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def page_get(client: Client, path: str):
    response = client.get(path)
    require_equal(response.status_code, 200, f"HTTP status of GET {path}")
    return response


def page_time(client: Client, name: str, path: str, *, warmup: int, repeat: int, budget_s: float) -> PageTiming:
    """`warmup` requests, then `repeat` timed ones (each the whole request through the middleware
    and the template), fewer if they take more than `budget_s` (but at least MIN_TIMED_REQUESTS);
    then one more with its queries captured, which is not timed because capturing turns on
    Django's debug cursor."""
    timing = PageTiming(name=name, path=path)
    for _ in range(warmup):
        page_get(client, path)
    deadline = time.perf_counter() + budget_s
    while len(timing.seconds) < repeat and (len(timing.seconds) < MIN_TIMED_REQUESTS or time.perf_counter() < deadline):
        start = time.perf_counter()
        page_get(client, path)
        timing.seconds.append(time.perf_counter() - start)
    with CaptureQueriesContext(connection) as captured:
        response = page_get(client, path)
    timing.queries = len(captured)
    timing.html_bytes = len(response.content)
    raw = [q["sql"][:120] for q in captured if "usage_usageevent" in q["sql"]]
    require(not raw, f"{path} read raw events instead of rollups: {raw[:2]}")
    return timing


def page_context(client: Client, path: str):
    """One request with template rendering instrumented, so the view's context can be read back."""
    setup_test_environment()
    try:
        response = page_get(client, path)
    finally:
        teardown_test_environment()
    return response
