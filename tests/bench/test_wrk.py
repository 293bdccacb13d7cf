"""The benchmark's wrk driver: a POST body from Lua, and its summary read back."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.wrk import WrkPool, wrk_run
from tests.gateway.upstream import fake_provider_start


@pytest.fixture
def provider():
    server = fake_provider_start()
    server.keep_bodies = True
    yield server
    server.shutdown()
    server.server_close()


def test_wrk_posts_the_body_and_headers_and_counts_what_it_completed(provider):
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}).encode()

    result = wrk_run(
        f"{provider.url}/v1/chat/completions",
        body=body,
        headers={"authorization": "Bearer sk-wrk"},
        connections=1,
        seconds=1,
    )

    assert result.errors == 0
    assert 0 < result.requests <= len(provider.requests)  # wrk may stop with one call in flight
    first = provider.requests[0]
    assert (first["method"], first["path"], first["body"]) == ("POST", "/v1/chat/completions", body)
    assert first["headers"]["authorization"] == "Bearer sk-wrk"
    assert 0 < result.p50_ms <= result.p99_ms


def test_a_paced_run_waits_between_calls(provider):
    result = wrk_run(f"{provider.url}/v1/chat/completions", body=b"{}", headers={}, connections=1, seconds=1, rate=20)

    assert result.requests <= 21  # at most one call every 50 ms on the one connection


class _EventsHandler(BaseHTTPRequestHandler):
    """Answers as the events API does for one event: 202 with its counts (409 for body b"bad")."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Authorization"], body))
        status, answer = (409, b'{"detail": "no"}') if body == b'"bad"' else (202, _ACCEPTED)
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


_ACCEPTED = b'{"accepted": 1, "duplicates": 0, "rejected": [], "conflicts": []}'


class _EventsServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # wrk closes its connections at its deadline, mid-request


@pytest.fixture
def events_api():
    server = _EventsServer(("127.0.0.1", 0), _EventsHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_pool_sends_each_body_once_and_counts_the_answers(events_api):
    bodies = [json.dumps({"event_id": f"e-{n}"}).encode() for n in range(20_000)]
    pool = WrkPool(port=events_api.server_port, api_key="lca_k", bodies=bodies, clients=4, stop_after_s=1, path="/x")

    result = pool.run()

    received = [body for _, _, body in events_api.received]
    assert len(received) == len(set(received))  # no body twice
    assert set(received) <= set(bodies)
    assert result.requests <= len(received) <= result.requests + 4
    assert (result.accepted, result.duplicates, result.rejected, result.error_count) == (result.requests, 0, 0, 0)
    assert {(path, auth) for path, auth, _ in events_api.received} == {("/x", "Bearer lca_k")}
    assert 0 < result.percentile_ms(50) <= result.percentile_ms(95) <= result.percentile_ms(99)
    assert result.client_cpu_seconds > 0


def test_the_pool_counts_an_answer_other_than_202_as_an_error(events_api):
    pool = WrkPool(
        port=events_api.server_port, api_key="k", bodies=[b'"bad"'] * 5_000, clients=1, stop_after_s=1, path="/x"
    )

    result = pool.run()

    assert result.error_count == result.requests > 0
    assert result.accepted == 0
    assert result.errors[0].startswith('409 {"detail": "no"}')
