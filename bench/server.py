"""The real web server (gunicorn, attribution_site.wsgi) on a free loopback port, and its workers' /proc."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .config import Config

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def port_free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return sorted(children)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class WebServer:
    """gunicorn with `config.workers` workers, started in `__enter__` and stopped in `__exit__`."""

    def __init__(self, config: Config, env: dict[str, str]):
        self.config = config
        self.env = env
        self.port = port_free()
        self.log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None
        self.worker_pids: list[int] = []

    def __enter__(self) -> WebServer:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "attribution_site.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.config.workers}",
            f"--worker-class={self.config.worker_class}",
            f"--threads={self.config.worker_threads}",
            "--timeout=120",
            "--graceful-timeout=10",
            "--backlog=2048",
            f"--error-logfile={self.log}",
            "--log-level=warning",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
            self.worker_pids = process_children(self.process.pid)
            if len(self.worker_pids) != self.config.workers:
                self.fail(f"expected {self.config.workers} workers, found {len(self.worker_pids)}")
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)  # __exit__ does not run when __enter__ fails
            raise
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"gunicorn exited with {self.process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                # Every worker must have booted, not just the one that answered.
                if status == 200 and len(process_children(self.process.pid)) == self.config.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.fail(f"gunicorn did not answer /healthz within {timeout:.0f} s")

    def fail(self, message: str) -> None:
        raise SystemExit(f"BENCHMARK FAILED: web server: {message}\n--- gunicorn log ---\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def workers_unchanged(self) -> None:
        """A worker that crashed or hit its timeout is replaced: its pid changes. That is a failure."""
        now = process_children(self.process.pid)
        if now != self.worker_pids:
            self.fail(f"workers were restarted during the run ({self.worker_pids} → {now})")

    def workers_cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.worker_pids)

    def workers_peak_rss_kb(self) -> dict[int, int]:
        """Peak resident set (VmHWM) of each worker since it started."""
        return {pid: process_status_kb(pid, "VmHWM") for pid in self.worker_pids}

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if exc[0] is None:
            self.log.unlink(missing_ok=True)
        else:
            print(f"gunicorn log kept at {self.log}", file=sys.stderr)
