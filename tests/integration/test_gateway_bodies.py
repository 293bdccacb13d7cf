"""Peak memory of a gateway process (uvicorn, as served) under 8 concurrent 30 MB bodies.

A recorded JSON endpoint holds each body once (it needs its model, stream flag and tags before
anything is sent); a passed-through upload streams to the provider and holds a chunk at a time.
The figures are printed (run with -s to see them) and bounded.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
from django.conf import settings

from tests.factories import ApiKeyFactory
from tests.gateway.server import free_port
from tests.gateway.upstream import fake_provider_start

from .web_server import CLEARED, database_url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MB = 1024 * 1024
BODY_MB = 30
CONCURRENT = 8


@pytest.fixture
def provider():
    server = fake_provider_start()
    server.keep_bodies = False
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def key(team):
    """Made before the gateway starts, so its first snapshot holds it (its cache is its own)."""
    return ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})


@pytest.fixture
def gateway_process(provider, key, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(
        DATABASE_URL=database_url(),
        GATEWAY_REDIS_URL="",
        GATEWAY_OPENAI_UPSTREAM=provider.url,
        GATEWAY_OPENAI_API_KEY="sk-provider",
        GATEWAY_PASSTHROUGH="/gateway/openai/v1/files",
        CELERY_TASK_ALWAYS_EAGER="1",
        LOG_LEVEL="WARNING",
    )
    log = tmp_path / "gateway.log"
    command = [sys.executable, "-m", "uvicorn", "attribution_site.asgi:application", f"--port={port}", "--lifespan=on"]
    command += ["--http=httptools", "--loop=uvloop"]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(log.read_text())
        time.sleep(0.1)
    yield process, f"http://127.0.0.1:{port}"
    process.kill()
    process.wait(timeout=10)


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _peak_under_load(pid: int, send) -> tuple[float, float]:
    """(resident MB before, peak resident MB while CONCURRENT calls of `send` run)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current size
    before = _status_mb(pid, "VmRSS")
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        statuses = list(pool.map(lambda _: send(), range(CONCURRENT)))
    assert statuses == [200] * CONCURRENT
    return before, _status_mb(pid, "VmHWM")


def test_eight_concurrent_30_mb_bodies_stay_within_their_bound(gateway_process, provider, key):
    process, url = gateway_process
    headers = {"authorization": f"Bearer {key.raw_key}"}
    prompt = "x" * (BODY_MB * MB)
    chat = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})
    upload = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n' + prompt.encode()
    upload += b"\r\n--b--\r\n"
    del prompt
    with httpx.Client(timeout=120) as client:
        assert client.get(f"{url}/gateway/openai/v1/models", headers=headers).status_code == 200

        def chat_call() -> int:
            return client.post(f"{url}/gateway/openai/v1/chat/completions", content=chat, headers=headers).status_code

        def upload_call() -> int:
            upload_headers = {**headers, "content-type": "multipart/form-data; boundary=b"}
            return client.post(f"{url}/gateway/openai/v1/files", content=upload, headers=upload_headers).status_code

        streamed_before, streamed_peak = _peak_under_load(process.pid, upload_call)
        buffered_before, buffered_peak = _peak_under_load(process.pid, chat_call)

    print(
        f"\ngateway RSS with {CONCURRENT} concurrent {BODY_MB} MB bodies: passed-through upload "
        f"{streamed_before:.0f} → peak {streamed_peak:.0f} MB; recorded JSON {buffered_before:.0f} → peak "
        f"{buffered_peak:.0f} MB"
    )
    assert sorted(request["body"] for request in provider.requests if request["method"] == "POST") == sorted(
        [len(upload)] * CONCURRENT + [len(chat)] * CONCURRENT
    )
    # Streamed: a few chunks per call, not the bodies.
    assert streamed_peak - streamed_before < 64
    # Buffered: each body held once (8 × 30 MB), plus one body's transient copy and parse.
    assert buffered_peak - buffered_before < CONCURRENT * BODY_MB + 3 * BODY_MB
