"""Local HTTP receivers for webhook deliveries: real sockets, answering as each test needs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Receiver:
    url: str
    requests: list[dict] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each request


@pytest.fixture
def receiver() -> Iterator:
    """`receiver(500, 200)` starts a receiver answering its first request 500, the next ones 200
    (each after `delay` seconds; `garbage=True` answers bytes that are no HTTP at all). All are
    shut down, and any sleeping handler released, at teardown."""
    running = []

    def start(*statuses: int, delay: float = 0.0, garbage: bool = False) -> Receiver:
        answers = list(statuses or (200,))
        release = threading.Event()
        found = Receiver(url="")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                found.arrived.append(time.monotonic())
                body = self.rfile.read(int(self.headers["Content-Length"]))
                found.requests.append(
                    {"path": self.path, "content_type": self.headers["Content-Type"], "body": json.loads(body)}
                )
                release.wait(delay)
                status = answers.pop(0) if len(answers) > 1 else answers[0]
                try:
                    if garbage:
                        self.wfile.write(b"this is not HTTP\r\n\r\n")
                        return
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender stopped waiting

            def log_message(self, format, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((server, thread, release))
        found.url = f"http://127.0.0.1:{server.server_port}/hook"
        return found

    yield start
    for server, thread, release in running:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
