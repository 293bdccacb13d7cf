"""The build's `day_refresh` of every day: seconds a day, the statements' time by what they do, and
the cores it and other work took meanwhile (a wall-clock build on 2 shared cores is only
comparable with the load it ran under)."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection

from apps.allocation.services import day_refresh

from ..config import Config
from ..cpu import CpuMeter, CpuUse
from ..server import process_cpu_seconds

REBUILD = "rollup INSERT … SELECT"
BREAKDOWNS = "breakdown INSERTs"
ALLOCATION = "allocation"
OTHER = "other (deletes, locks, month and bill checks)"
KINDS = (REBUILD, BREAKDOWNS, ALLOCATION, OTHER)


@dataclass
class RefreshFigures:
    seconds: list[float] = field(default_factory=list)  # one per day, in order
    statements: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    cpu: CpuUse | None = None

    @property
    def outside_statements(self) -> float:
        """Seconds not spent executing statements: each day's COMMIT (flushing its WAL) and Python."""
        return sum(self.seconds) - sum(self.statements.values())

    def describe(self) -> str:
        """e.g. `rollup INSERT … SELECT 61.2 s, breakdown INSERTs 20.4 s, …; bench 0.3 + PostgreSQL 1.2 …`."""
        parts = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in self.statements.items())
        cores = self.cpu.describe(own="bench")
        return f"{parts}, commits and Python {self.outside_statements:.1f} s; cores meanwhile: {cores}"


def _statement_kind(sql: str) -> str:
    """What a statement of day_refresh does: by its text for the two INSERT … SELECTs, else by the
    service function that issued it (day_allocate, or the rebuild's own bookkeeping)."""
    if sql.startswith("INSERT INTO rollups_dailyrollup") and " SELECT " in sql:
        return REBUILD
    if sql.startswith("INSERT INTO rollups_dailybreakdown"):
        return BREAKDOWNS
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "day_allocate":
            return ALLOCATION
        frame = frame.f_back
    return OTHER


def days_refresh(config: Config, *, first_day: date, days: int) -> RefreshFigures:
    figures = RefreshFigures()
    statements: dict[str, float] = defaultdict(float)

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements[_statement_kind(sql)] += time.perf_counter() - start

    meter = CpuMeter(config.database, lambda: process_cpu_seconds(os.getpid()), parallel_workers=True)
    with meter, connection.execute_wrapper(timed):
        for n in range(days):
            start = time.perf_counter()
            day_refresh(day=first_day + timedelta(days=n))
            figures.seconds.append(time.perf_counter() - start)
    figures.statements.update(statements)
    figures.cpu = meter.use
    return figures
