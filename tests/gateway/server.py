"""The project's ASGI application served by a real uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadedServer:
    def __init__(self, app, gateway) -> None:
        self.gateway = gateway
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, http="httptools", lifespan="on", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.01)

    def run(self, coroutine):
        """Run a coroutine on the server's event loop (e.g. the gateway's refresh) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.gateway.loop).result(timeout=10)

    def refresh(self) -> None:
        """What the gateway's background loops do every few seconds, now: re-read keys, registry,
        credentials and spent budgets."""
        self.run(self.gateway.refresh(budgets=True))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
