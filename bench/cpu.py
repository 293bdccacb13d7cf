"""Where the two cores went during a phase: web workers, PostgreSQL, load clients, the rest."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .server import process_cpu_seconds

SAMPLE_EVERY_S = 0.25


def machine_busy_seconds() -> float:
    """Non-idle CPU time of the whole machine, from /proc/stat (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def background_cores(seconds: float = 3.0) -> float:
    """Cores busy before the benchmark starts: other work on the machine skews every figure."""
    start = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - start) / seconds


def quiet_wait(*, threshold: float, patience_s: float) -> float:
    """Wait (up to `patience_s`) for other work on the machine to calm down; the load at the end."""
    deadline = time.monotonic() + patience_s
    cores = background_cores()
    while cores > threshold and time.monotonic() < deadline:
        cores = background_cores()
    return cores


def postgres_cpu_by_pid(database: str, *, parallel_workers: bool = True) -> dict[int, float]:
    """CPU seconds of this database's backends and of PostgreSQL's own helpers (WAL writer,
    checkpointer, …); other databases' backends (other people's tests) are left out, and so are
    parallel query workers unless `parallel_workers`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            is_client_backend = "(" in title or "[local]" in title
            if not parallel_workers and "parallel worker" in title:
                continue
            if f" {database} " in title or not is_client_backend:
                found[int(entry.name)] = process_cpu_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process: a `postgres` whose parent is not one."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if Path(f"/proc/{parent}/comm").read_text().strip() != "postgres":
                return int(entry.name)
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            continue
    return None


def reaped_cpu_seconds(pid: int) -> float:
    """CPU time of a process's children that have exited (cutime + cstime, /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuUse:
    wall: float
    machine: float
    web: float
    postgres: float
    clients: float

    @property
    def other(self) -> float:
        """CPU seconds of everything else on the machine (other people's work, the kernel)."""
        return max(0.0, self.machine - self.web - self.postgres - self.clients)

    def describe(self, own: str = "web") -> str:
        """Average cores busy, e.g. `web 1.31 + PostgreSQL 0.45 + clients 0.12 + other 0.04 cores`."""
        parts = [(own, self.web), ("PostgreSQL", self.postgres), ("clients", self.clients), ("other", self.other)]
        shown = [(name, seconds) for name, seconds in parts if seconds or name != "clients"]
        return " + ".join(f"{name} {seconds / self.wall:.2f}" for name, seconds in shown) + " cores"


class CpuMeter:
    """Measures one phase. PostgreSQL backends come and go (CONN_MAX_AGE recycles them), so they
    are sampled during the phase: a backend's first reading is its baseline (0 when it started
    during the phase) and its last reading counts.

    With `parallel_workers`, PostgreSQL also gets the CPU of the server's children that exited
    during the phase: parallel query workers live for one query, too briefly to be sampled.
    (Another database's backend that disconnects meanwhile is counted too.)"""

    def __init__(self, database: str, web=lambda: 0.0, *, parallel_workers: bool = False):
        self.database = database
        self.web = web
        self._postmaster = postmaster_pid() if parallel_workers else None
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sampler, daemon=True)

    def _sample(self, *, baseline: bool = False) -> None:
        # Parallel workers are counted once they exit (`_reaped`), not while sampled as well.
        workers = self._postmaster is None
        for pid, seconds in postgres_cpu_by_pid(self.database, parallel_workers=workers).items():
            self._first.setdefault(pid, seconds if baseline else 0.0)
            self._last[pid] = seconds

    def _sampler(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def _reaped(self) -> float:
        return reaped_cpu_seconds(self._postmaster) if self._postmaster else 0.0

    def __enter__(self) -> CpuMeter:
        self._sample(baseline=True)
        self._reaped_start = self._reaped()
        self._start = (time.monotonic(), machine_busy_seconds(), self.web())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        wall, machine, web = time.monotonic(), machine_busy_seconds(), self.web()
        postgres = sum(self._last[pid] - self._first[pid] for pid in self._last)
        postgres += self._reaped() - self._reaped_start
        w0, m0, web0 = self._start
        self.use = CpuUse(wall=wall - w0, machine=machine - m0, web=web - web0, postgres=postgres, clients=0.0)
