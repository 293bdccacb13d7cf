"""The benchmark's wrk driver: a POST body from Lua, and its summary read back."""

from __future__ import annotations

import json

import pytest

from bench.wrk import wrk_run
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
