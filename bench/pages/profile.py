"""Where a page's time goes: SQL (each query timed), chart figures, chart HTML, the template, the rest.

The page code is not changed: the chart functions and the view's `render` are wrapped in this
process only, and every query is timed with a database execute wrapper.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import statistics
import sys
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client

from apps.showback import charts, views

from .measure import page_get

FIGURES = ("bar", "burn", "monthly_totals", "share_pie", "stacked_trend")
PHASES = ("SQL", "chart figures", "chart HTML", "template", "other Python")
EXPLAINED = 2  # slowest queries of each page shown with EXPLAIN ANALYZE


@dataclass
class Query:
    ms: float
    sql: str
    params: tuple
    rows: int
    caller: str  # what the view called that issued it, e.g. team_breakdown


def _view_caller() -> str:
    """The function the page's view called (directly) on the way to this query."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_back is not None:
        if frame.f_back.f_code.co_filename == views.__file__:
            wrapped = frame.f_locals.get("function") if frame.f_code is _TIMED_CODE else None
            return wrapped.__name__ if wrapped else frame.f_code.co_name
        frame = frame.f_back
    return "middleware"  # the session and the user, before the view runs


@dataclass
class PageProfile:
    name: str
    total_ms: float = 0.0
    phases_ms: dict[str, float] = field(default_factory=dict)
    queries: list[Query] = field(default_factory=list)  # of one request, slowest first
    plans: list[tuple[Query, str]] = field(default_factory=list)
    hot_functions: str = ""

    def sql_summary(self, top: int = 5) -> list[tuple[float, str]]:
        return [(q.ms, query_label(q.sql)) for q in self.queries[:top]]

    def sql_by_caller(self) -> list[tuple[str, int, float]]:
        """(what the view called, its queries, their ms), costliest first."""
        calls: dict[str, list[float]] = defaultdict(list)
        for q in self.queries:
            calls[q.caller].append(q.ms)
        return sorted(((c, len(ms), sum(ms)) for c, ms in calls.items()), key=lambda row: -row[2])


def query_label(sql: str) -> str:
    """A short name for a query: its tables, what it groups by, and its filter columns."""
    tables = sorted(set(re.findall(r'(?:FROM|JOIN) "(\w+)"', sql)))
    group = re.search(r"GROUP BY (.+?)(?: ORDER BY| LIMIT| HAVING|\)|$)", sql)
    grouped = ", ".join(c.split(".")[-1].strip('"') for c in group.group(1).split(", ")) if group else "—"
    return f"{' + '.join(tables)} · group by {grouped[:80]}"


class _Clock:
    """Time spent in SQL and in the wrapped phases; SQL inside a phase is taken out of it."""

    def __init__(self):
        self.sql = 0.0
        self.phases: dict[str, float] = defaultdict(float)
        self.queries: list[Query] = []

    def execute(self, execute, sql, params, many, context):
        start = time.perf_counter()
        result = execute(sql, params, many, context)
        elapsed = time.perf_counter() - start
        self.sql += elapsed
        cursor = context["cursor"]
        self.queries.append(Query(elapsed * 1000, sql, tuple(params or ()), max(cursor.rowcount, 0), _view_caller()))
        return result

    def wrap(self, phase: str, function):
        def timed(*args, **kwargs):
            start, sql_before = time.perf_counter(), self.sql
            try:
                return function(*args, **kwargs)
            finally:
                self.phases[phase] += time.perf_counter() - start - (self.sql - sql_before)

        return timed


_TIMED_CODE = _Clock.wrap(_Clock(), "", print).__code__  # the wrapper above: look through it to what it wraps


@contextmanager
def _instrumented(clock: _Clock):
    with ExitStack() as stack:
        stack.enter_context(connection.execute_wrapper(clock.execute))
        patched = [(charts, name, "chart figures") for name in FIGURES]
        patched += [(charts, "to_html", "chart HTML"), (views, "render", "template")]
        for module, name, phase in patched:
            original = getattr(module, name)
            setattr(module, name, clock.wrap(phase, original))
            stack.callback(setattr, module, name, original)
        yield


def page_profile(client: Client, name: str, path: str, *, repeat: int = 3) -> PageProfile:
    """Median time per phase over `repeat` requests, each query of the last one, EXPLAIN ANALYZE
    of the slowest, and the costliest functions under cProfile."""
    profile = PageProfile(name=name)
    totals, phases = [], defaultdict(list)
    for _ in range(repeat):
        clock = _Clock()
        with _instrumented(clock):
            start = time.perf_counter()
            page_get(client, path)
            total = time.perf_counter() - start
        totals.append(total * 1000)
        phases["SQL"].append(clock.sql * 1000)
        for phase in ("chart figures", "chart HTML", "template"):
            phases[phase].append(clock.phases[phase] * 1000)
        phases["other Python"].append(1000 * (total - clock.sql - sum(clock.phases.values())))
        profile.queries = sorted(clock.queries, key=lambda q: -q.ms)
    profile.total_ms = statistics.median(totals)
    profile.phases_ms = {phase: statistics.median(phases[phase]) for phase in PHASES}
    with connection.cursor() as cursor:
        for query in profile.queries[:EXPLAINED]:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query.sql, query.params)
            profile.plans.append((query, "\n".join(row[0] for row in cursor.fetchall())))
    profiler = cProfile.Profile()
    profiler.enable()
    page_get(client, path)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    profile.hot_functions = out.getvalue()
    return profile


def profile_print(profile: PageProfile) -> None:
    print(f"  {profile.name}: {profile.total_ms:.0f} ms a request (median, instrumented)", flush=True)
    print("    " + ", ".join(f"{p} {ms:.0f} ms" for p, ms in profile.phases_ms.items()), flush=True)
    by_caller = ", ".join(f"{c} {n}× {ms:.0f} ms" for c, n, ms in profile.sql_by_caller())
    print(f"    SQL by what the view called: {by_caller}", flush=True)
    print(f"    slowest of its {len(profile.queries)} queries:", flush=True)
    for q in profile.queries[:8]:
        print(f"      {q.ms:7.1f} ms {q.rows:>7} rows  {query_label(q.sql)}", flush=True)
    for query, plan in profile.plans:
        print(f"    EXPLAIN ANALYZE of the {query.ms:.1f} ms query ({query_label(query.sql)}):", flush=True)
        print("      " + plan.replace("\n", "\n      "), flush=True)
    print("    cProfile, by own time:", flush=True)
    lines = [line for line in profile.hot_functions.splitlines() if line.strip()]
    print("      " + "\n      ".join(lines[-14:]), flush=True)
