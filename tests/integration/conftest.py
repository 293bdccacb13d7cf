"""Integration fixtures: the real PostgreSQL, Redis, HTTP server and a Celery worker process.

These tests run when DATABASE_URL points at PostgreSQL and CELERY_BROKER_URL at Redis; with
REQUIRE_SERVICES=1 (as .ci/run sets) a missing service fails the run instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection

from attribution_site.celery import app as celery_app
from tests.gateway.upstream import fake_provider_start

from .processes import RedisServer
from .web_server import database_url

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def _services_problem() -> str | None:
    if connection.vendor != "postgresql":
        return "DATABASE_URL does not point at PostgreSQL"
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return "CELERY_BROKER_URL does not point at Redis"
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {settings.CELERY_BROKER_URL} is not reachable: {exc}"
    return None


def pytest_collection_modifyitems(config, items):
    problem = _services_problem()
    for item in items:
        if "tests/integration/" not in str(item.path).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.integration)
        if problem and REQUIRED:
            item.add_marker(pytest.mark.usefixtures("services_missing"))
        elif problem:
            item.add_marker(pytest.mark.skip(reason=f"integration test needs PostgreSQL and Redis: {problem}"))


@pytest.fixture
def services_missing():
    pytest.fail(f"REQUIRE_SERVICES=1 but {_services_problem()}")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on Redis, using the test database, on a queue of its own."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # Alert deliveries retry after 1 s, 2 s, … instead of 30 s, 60 s, …
        "ALERT_RETRY_BACKOFF_SECONDS": "1",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "attribution_site",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={queue}@%h",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail("the Celery worker did not start")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.fixture
def redis_server(tmp_path):
    """A Redis server of the test's own, to stop and start."""
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def provider():
    """The fake OpenAI and Anthropic upstream on loopback."""
    server = fake_provider_start()
    yield server
    server.shutdown()
    server.server_close()
