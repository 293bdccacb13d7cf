"""`python -m bench profile`: where an ingestion request spends its time, measured in-process.

Calls the WSGI application directly (what a gunicorn worker runs, minus the socket) under cProfile
for batches and for single events, and prints the time per request and the costliest functions.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time

import orjson

from .events import api_key_new, events_generate, models_check, registry_create

BATCHES = 20
SINGLES = 2000


def _environ(body: bytes, api_key: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/events",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {api_key}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _post_all(application, bodies: list[bytes], api_key: str) -> None:
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    for body in bodies:
        response = application(_environ(body, api_key), start_response)
        b"".join(response)
        response.close()
        if not statuses[-1].startswith("202"):
            raise SystemExit(f"profile request failed: {statuses[-1]}")


def _profile(name: str, application, bodies: list[bytes], api_key: str, events: int) -> None:
    profiler = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    profiler.runcall(_post_all, application, bodies, api_key)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"\n== {name}: {len(bodies)} requests, {events} events; under cProfile {1000 * wall / len(bodies):.2f} ms "
        f"per request, {1e6 * cpu / events:.0f} µs CPU per event (this process only, not PostgreSQL)"
    )
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def _timed(name: str, application, bodies: list[bytes], api_key: str, events: int) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    _post_all(application, bodies, api_key)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"== {name} without profiler: {1000 * wall / len(bodies):.2f} ms per request, "
        f"{1e6 * cpu / events:.1f} µs CPU per event in the web process"
    )


def profile_run() -> None:
    from django.core.wsgi import get_wsgi_application
    from django.utils import timezone

    registry_create()
    models_check()
    _, key = api_key_new("bench-profile")
    now = timezone.now()
    application = get_wsgi_application()
    _post_all(application, [orjson.dumps(e) for e in events_generate(20, seed=10, now=now)], key)  # warm-up

    for seed, profiled in ((11, False), (12, True)):
        events = events_generate(BATCHES * 1000, seed=seed, now=now)
        batches = [orjson.dumps({"events": events[i : i + 1000]}) for i in range(0, len(events), 1000)]
        singles = [orjson.dumps(e) for e in events_generate(SINGLES, seed=seed + 100, now=now)]
        run = _profile if profiled else _timed
        run("batches of 1,000", application, batches, key, len(events))
        run("single events", application, singles, key, len(singles))
