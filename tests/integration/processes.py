"""Real servers the outage tests start, break and restart: a Redis of their own, a gateway
process, and a TCP relay in front of PostgreSQL that can cut every connection to it."""

from __future__ import annotations

import contextlib
import http.client
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from django.conf import settings

from tests.gateway.server import free_port

from .web_server import CLEARED, database_url


class RedisServer:
    """`redis-server` on a free port, persisting as docker-compose's does (append-only file), so
    a restart, even after SIGKILL, keeps every acknowledged write."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ],
            stdout=(self.directory / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        client = redis.Redis(port=self.port, socket_timeout=1)
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL, as an OOM killer or a lost host would: Redis saves nothing on its way out."""
        self.process.kill()
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, and nothing answers them."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class GatewayProcess:
    """The gateway as production runs it: `uvicorn attribution_site.asgi:application`."""

    def __init__(self, *, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        process_env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        process_env.update(
            DATABASE_URL=database_url(),
            CELERY_TASK_ALWAYS_EAGER="1",
            LOG_LEVEL="WARNING",
            GATEWAY_OPENAI_API_KEY="sk-provider",
            GATEWAY_ANTHROPIC_API_KEY="sk-ant-provider",
        )
        process_env.update(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "attribution_site.asgi:application", f"--port={self.port}"],
            cwd=settings.BASE_DIR,
            env=process_env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the gateway did not start\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


class TcpRelay:
    """Relays a loopback port to PostgreSQL; `cut()` closes every connection and refuses new
    ones, as a database host going down would, and `restore()` listens again."""

    def __init__(self, *, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._running = True
        self.restore()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def database_url(self) -> str:
        db = settings.DATABASES["default"]
        return f"postgres://{db['USER'] or 'postgres'}@127.0.0.1:{self.port}/{db['NAME']}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        with self._lock:
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ, None)

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for client, server in self._pairs:
                for sock in (client, server):
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(sock)
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._pairs.clear()

    def close(self) -> None:
        self._running = False
        self.cut()
        self._thread.join(timeout=5)

    def _pump(self) -> None:
        while self._running:
            with self._lock:  # cut() and restore() wait for at most one select
                ready = self._selector.select(timeout=0.05) if self._selector.get_map() else []
                for key, _ in ready:
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.data is not None:
                        self._forward(key.fileobj, key.data)
            if not ready:
                time.sleep(0.01)

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        server = socket.create_connection(self.target)
        for sock in (client, server):
            sock.setblocking(False)
        self._selector.register(client, selectors.EVENT_READ, server)
        self._selector.register(server, selectors.EVENT_READ, client)
        self._pairs.append((client, server))

    def _forward(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            data = source.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            with contextlib.suppress(OSError):
                destination.setblocking(True)
                destination.sendall(data)
                destination.setblocking(False)
            return
        for sock in (source, destination):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()
        self._pairs = [pair for pair in self._pairs if source not in pair]
