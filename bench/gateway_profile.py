"""`python -m bench profile gateway`: where the gateway process spends its CPU under wrk load.

The gateway (uvicorn, uvloop, httptools, events to Redis) runs under cProfile (bench.gateway_profiled)
in front of the benchmark's loopback upstream; wrk sends JSON calls, then 20-chunk streams, on 8
connections. The profile covers the event loop's thread, where every call is served; the drain's
database work runs on worker threads and is not in it. Time is grouped by the package it is spent in.
"""

from __future__ import annotations

import pstats
import tempfile
from collections import defaultdict
from pathlib import Path

from .gateway import BODY, STREAM_BODY, _serve
from .wrk import wrk_run

SECONDS = 10
# Where a function lives → the layer the profile reports it under (first match wins).
GROUPS = (
    ("/httpx/", "httpx (upstream client)"),
    ("/httpcore/", "httpcore (upstream connection pool)"),
    ("/h11/", "h11 (upstream HTTP parser)"),
    ("/anyio/", "anyio (httpcore's streams)"),
    ("/aiohttp/", "aiohttp (upstream client)"),
    ("/multidict/", "aiohttp (upstream client)"),
    ("/yarl/", "aiohttp (upstream client)"),
    ("/aiohappyeyeballs/", "aiohttp (upstream client)"),
    ("/redis/", "redis (recording)"),
    ("/uvicorn/", "uvicorn (the server)"),
    ("/apps/gateway/", "apps.gateway (the gateway's own work)"),
    ("/apps/", "apps (tags, pricing, events)"),
    ("/django/", "django"),
    ("/asyncio/", "asyncio"),
)


def _group(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "built-ins (C: sockets, orjson, uvloop, httptools)"
    return next((name for part, name in GROUPS if part in filename), "other Python")


def profile_gateway_run(env: dict[str, str], redis_url: str) -> None:
    from apps.org.models import Team
    from apps.usage.services import api_key_create

    from .events import registry_create

    registry_create()
    _, raw_key = api_key_create(
        team=Team.objects.get(slug="search"),
        name="profile",
        pinned_tags={"team": "search"},
        default_tags={"environment": "staging"},
    )
    logs = Path(tempfile.mkdtemp(prefix="bench-gateway-profile-"))
    upstream, upstream_url = _serve("bench.gateway_upstream:app", env, logs / "upstream.log")
    try:
        for kind, body in (("JSON calls", BODY), ("20-chunk streams", STREAM_BODY)):
            out = logs / f"{kind.split()[0]}.prof"
            gateway_env = {
                **env,
                "GATEWAY_OPENAI_UPSTREAM": upstream_url,
                "GATEWAY_OPENAI_API_KEY": "sk-bench",
                "GATEWAY_REDIS_URL": redis_url,
                "BENCH_PROFILE_OUT": str(out),
            }
            gateway, gateway_url = _serve("bench.gateway_profiled:app", gateway_env, logs / "gateway.log")
            url = f"{gateway_url}/gateway/openai/v1/chat/completions"
            try:
                result = wrk_run(
                    url, body=body, headers={"authorization": f"Bearer {raw_key}"}, connections=8, seconds=SECONDS
                )
            finally:
                gateway.terminate()
                gateway.wait(timeout=30)
            _report(kind, out, result.requests)
    finally:
        upstream.terminate()
        upstream.wait(timeout=20)


def _report(kind: str, out: Path, calls: int) -> None:
    stats = pstats.Stats(str(out))
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        by_group[_group(filename)] += tottime
    total = sum(by_group.values())
    print(f"\n== {kind}: {calls} calls, {1000 * total / calls:.2f} ms profiled CPU per call (cProfile inflates it)")
    for name, seconds in sorted(by_group.items(), key=lambda item: -item[1]):
        print(f"   {100 * seconds / total:5.1f}%  {name}")
    stats.strip_dirs().sort_stats("tottime").print_stats(20)
