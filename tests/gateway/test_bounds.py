"""Bounds: slow and oversized bodies, a flood of bad keys, hostile path and header bytes."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from apps.gateway import keys
from apps.usage.models import UsageEvent, api_key_hash
from tests.factories import ApiKeyFactory

from .conftest import raw_call

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FILES = "/gateway/openai/v1/files"


def _send_raw(server, head: bytes, body_part: bytes) -> tuple[bytes, float]:
    """Send a request head and part of its body, then wait: (the answer's bytes, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as conn:
        conn.sendall(head + body_part)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def _head(path: str, key: str, length: int, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_slow_body_times_out_with_408_before_anything_is_sent_upstream(gateway_server, provider, api_key, settings):
    settings.GATEWAY_BODY_TIMEOUT_SECONDS = 1
    head = _head("/gateway/openai/v1/chat/completions", api_key.raw_key, 1000)

    answer, seconds = _send_raw(gateway_server, head, b'{"model": "gpt-4o", ')

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"x-should-retry: false" in answer
    assert b"did not arrive within 1 seconds" in answer
    assert seconds < 5
    assert provider.requests == []


def test_a_slow_streamed_body_times_out_and_never_completes_upstream(gateway_server, provider, api_key, settings):
    settings.GATEWAY_PASSTHROUGH = (FILES,)
    settings.GATEWAY_BODY_TIMEOUT_SECONDS = 1
    head = _head(FILES, api_key.raw_key, 100_000, "multipart/form-data; boundary=b")

    answer, _ = _send_raw(gateway_server, head, b"--b\r\n" + b"x" * 5000)

    assert answer.startswith(b"HTTP/1.1 408 ")
    time.sleep(0.5)  # the upstream reads what it got until the gateway hangs up
    assert all(len(request["body"]) < 100_000 for request in provider.requests)


def test_a_body_announced_larger_than_the_limit_is_refused_at_once(gateway_server, provider, api_key, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 1000
    head = _head("/gateway/openai/v1/chat/completions", api_key.raw_key, 5000)

    answer, _ = _send_raw(gateway_server, head, b"{")

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert provider.requests == []


def test_a_chunked_body_past_the_limit_is_cut_off_with_413(gateway_server, provider, api_key, settings):
    settings.GATEWAY_PASSTHROUGH = (FILES,)
    settings.GATEWAY_MAX_BODY_BYTES = 100_000

    def chunks():
        for _ in range(50):
            yield b"y" * 10_000

    response = httpx.post(
        f"{gateway_server.url}{FILES}",
        content=chunks(),
        headers={"authorization": f"Bearer {api_key.raw_key}", "content-type": "multipart/form-data; boundary=b"},
    )

    assert response.status_code == 413
    time.sleep(0.5)
    assert all(len(request["body"]) <= 100_000 for request in provider.requests)


def test_a_passed_through_upload_streams_to_the_provider_whole_and_unrecorded(
    gateway_server, provider, api_key, settings
):
    settings.GATEWAY_PASSTHROUGH = (FILES,)
    upload = bytes(range(256)) * 20_000  # 5 MB

    response = httpx.post(
        f"{gateway_server.url}{FILES}",
        files={"file": ("batch.jsonl", upload)},
        data={"purpose": "batch"},
        headers={"authorization": f"Bearer {api_key.raw_key}"},
    )

    assert response.status_code == 200
    assert upload in provider.requests[0]["body"]
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize("path", ["/gateway/openai/v1/models%00", "/gateway/openai/v1/chat/completions%0d%0aX:%201"])
def test_a_nul_or_crlf_in_a_path_is_a_400_not_a_500(gateway_server, provider, api_key, path):
    for method in ("GET", "POST"):
        assert raw_call(gateway_server, method, path, key=api_key.raw_key, body=b"{}").status == 400
    assert provider.requests == []


def test_a_header_value_outside_ascii_passes_through(gateway_server, provider, api_key):
    answer = raw_call(
        gateway_server, "GET", "/gateway/openai/v1/models", key=api_key.raw_key, headers={"X-Note": "caf\xe9"}
    )

    assert answer.status == 200
    assert {k.lower(): v for k, v in provider.requests[0]["headers"].items()}["x-note"] == "caf\xe9"


def test_a_flood_of_one_bad_key_costs_one_lookup(gateway_server, provider, monkeypatch):
    lookups = []
    original = keys._key_lookup

    def counting(raw_key):
        lookups.append(raw_key)
        return original(raw_key)

    monkeypatch.setattr(keys, "_key_lookup", counting)
    # Remembered for the whole flood however slow the machine: the test is about one lookup.
    monkeypatch.setattr(keys, "UNKNOWN_KEY_SECONDS", 600.0)
    url = f"{gateway_server.url}/gateway/openai/v1/chat/completions"

    def call(_):
        return httpx.post(url, json={}, headers={"authorization": "Bearer lca_not-a-key"}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(call, range(60)))

    assert statuses == [401] * 60
    assert lookups == ["lca_not-a-key"]
    assert provider.requests == []


def test_a_key_made_after_it_was_found_unknown_works_once_the_keys_are_refreshed(gateway_server, provider, team):
    raw = "lca_made-a-moment-later"
    url = f"{gateway_server.url}/gateway/openai/v1/models"
    assert httpx.get(url, headers={"authorization": f"Bearer {raw}"}).status_code == 401

    key = ApiKeyFactory(team=team)
    type(key).objects.filter(pk=key.pk).update(hashed_key=api_key_hash(raw))
    key.save(update_fields=["name"])  # signals the key snapshot
    gateway_server.refresh()

    assert httpx.get(url, headers={"authorization": f"Bearer {raw}"}).status_code == 200
