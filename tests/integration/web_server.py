"""A real gunicorn serving the test database on a free loopback port, and ways to hurt it on purpose."""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings

# Read by attribution_site.settings: a broker or shared cache from the caller's shell must not
# leak in (the server runs tasks in-process and keeps its snapshots in its own memory).
CLEARED = ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL")


def database_url() -> str:
    """The pytest-django test database, as a DATABASE_URL for another process."""
    db = settings.DATABASES["default"]
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@functools.cache
def static_root() -> str:
    """The hashed, compressed static files a served page names (the production storage), collected
    once per test session into a folder of its own."""
    root = tempfile.mkdtemp(prefix="attribution-static-")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity=0"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "STATIC_ROOT": root},
        check=True,
    )
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """`python -m gunicorn attribution_site.wsgi` with sync workers; `stop()` always ends it."""

    def __init__(self, *, workers: int, log: Path, extra_env: dict[str, str] | None = None):
        """`extra_env` is added to the environment built here (e.g. a Redis cache the test breaks)."""
        self.workers = workers
        self.log = log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env.update(
            DJANGO_SETTINGS_MODULE="attribution_site.settings",
            DJANGO_DEBUG="0",
            DATABASE_URL=database_url(),
            CELERY_TASK_ALWAYS_EAGER="1",
            ROLLUP_REFRESH_ON_INGEST="0",
            LOG_LEVEL="WARNING",
            STATIC_ROOT=static_root(),
        )
        env.update(extra_env or {})
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "attribution_site.wsgi",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            "--worker-class=sync",
            # Longer than any lock a test holds, so gunicorn's own watchdog never kills a worker.
            "--timeout=60",
            "--graceful-timeout=5",
            f"--error-logfile={log}",
            "--log-level=warning",
        ]
        self.process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL)

    def worker_pids(self) -> list[int]:
        """The master's children: its workers, read from /proc as bench/server.py does."""
        children: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that ended while we listed them
                children += [int(pid) for pid in (task / "children").read_text().split()]
        return sorted(children)

    def wait_ready(self, *, replaced: int | None = None, timeout: float = 30) -> None:
        """Until /healthz answers 200 and every worker has booted (and `replaced` is gone)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}\n{self.log_tail()}")
            pids = self.worker_pids()
            if len(pids) == self.workers and replaced not in pids and self._healthy():
                return
            time.sleep(0.1)
        raise AssertionError(f"gunicorn was not ready within {timeout:.0f} s\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                return conn.getresponse().status == 200
            finally:
                conn.close()
        except OSError:
            return False

    def kill_worker(self) -> int:
        """SIGKILL the only worker, as the OOM killer would: no cleanup runs in it."""
        (pid,) = self.worker_pids()
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no gunicorn log)"
        return "--- gunicorn log ---\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
