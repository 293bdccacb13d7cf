"""`python -m bench runaway`: a runaway agent against a hard-limit budget, through two gateway processes.

50 calls a second, each costing exactly $0.05, alternate between two gateway processes sharing one
Redis, against the team's $10 hard limit; nothing rolls up meanwhile (ROLLUP_REFRESH_ON_INGEST=0,
no worker), so only the live counts (apps.gateway.spend) can stop it. The overshoot is the spend
stored past the limit, read from the database once every served call is drained.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import orjson

from .checks import require, require_equal
from .config import Config
from .gateway import _serve

CALLS_PER_SECOND = 50
LIMIT = Decimal("10.00")
CALL_COST = Decimal("0.050000000")
TARGET_OVERSHOOT = Decimal("1.00")
MODEL = "runaway-model"
# The bench upstream's usage (1,000 uncached + 200 cached input, 300 output tokens) at these
# prices per million costs exactly $0.05: 1,000 × $35 + 200 × $0 + 300 × $50.
PRICE = {"input_per_mtok": Decimal("35"), "cache_read_per_mtok": Decimal("0"), "output_per_mtok": Decimal("50")}


@dataclass
class RunawayFigures:
    seconds: float
    served: int
    refused: int
    stored_cost: Decimal
    first_refusal_s: float  # since the first call

    @property
    def overshoot(self) -> Decimal:
        return max(self.stored_cost - LIMIT, Decimal(0))


async def _drive(urls: list[str], headers: dict, seconds: float) -> tuple[int, int, float]:
    body = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": "again"}]})
    served = refused = 0
    first_refusal = 0.0
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()

        async def one(index: int) -> None:
            nonlocal served, refused, first_refusal
            await asyncio.sleep(max(0.0, started + index / CALLS_PER_SECOND - time.perf_counter()))
            response = await client.post(urls[index % len(urls)], content=body, headers=headers)
            if response.status_code == 200:
                served += 1
            else:
                require_equal(response.status_code, 429, "a refused runaway call's status")
                refused += 1
                if not first_refusal:
                    first_refusal = time.perf_counter() - started

        await asyncio.gather(*(one(i) for i in range(int(seconds * CALLS_PER_SECOND))))
    return served, refused, first_refusal


def runaway_run(config: Config, env: dict[str, str]) -> RunawayFigures:
    import uvloop
    from django.db.models import Sum

    from apps.budgets.models import Budget
    from apps.org.models import Team
    from apps.pricing.models import ModelPrice
    from apps.usage.models import UsageEvent
    from apps.usage.services import api_key_create

    from .events import registry_create

    registry_create()
    team = Team.objects.get(slug="search")
    now = datetime.now(UTC)
    ModelPrice.objects.create(
        provider="openai", model=MODEL, effective_from=now.replace(day=1, hour=0, minute=0, second=0), **PRICE
    )
    Budget.objects.create(team=team, monthly_amount=LIMIT, effective_from=now.date(), hard_limit=True)
    _, raw_key = api_key_create(
        team=team, name="runaway", pinned_tags={"team": "search"}, default_tags={"environment": "staging"}
    )
    logs = Path(tempfile.mkdtemp(prefix="bench-runaway-"))
    upstream, upstream_url = _serve("bench.gateway_upstream:app", env, logs / "upstream.log")
    gateway_env = {
        **env,
        "GATEWAY_OPENAI_UPSTREAM": upstream_url,
        "GATEWAY_OPENAI_API_KEY": "sk-bench",
        "GATEWAY_REDIS_URL": config.redis_url,
    }
    gateways = [_serve("attribution_site.asgi:application", gateway_env, logs / f"gateway-{i}.log") for i in (1, 2)]
    # Twice what the limit allows: the runaway goes on well past it.
    seconds = float(2 * LIMIT / CALL_COST / CALLS_PER_SECOND)
    try:
        urls = [f"{url}/gateway/openai/v1/chat/completions" for _, url in gateways]
        served, refused, first_refusal = uvloop.run(_drive(urls, {"authorization": f"Bearer {raw_key}"}, seconds))
        deadline = time.monotonic() + 60
        while UsageEvent.objects.filter(source="gateway").count() < served and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for process, _ in gateways:
            process.terminate()
        upstream.terminate()
        for process, _ in [*gateways, (upstream, "")]:
            process.wait(timeout=20)
    stored = UsageEvent.objects.filter(source="gateway").aggregate(cost=Sum("billed_cost"))["cost"] or Decimal(0)
    require_equal(
        UsageEvent.objects.filter(source="gateway").count(), served, "runaway events stored (one per served call)"
    )
    require_equal(stored, CALL_COST * served, "runaway spend stored (each call $0.05)")
    require(refused > 0, "the runaway was refused once past its limit")
    figures = RunawayFigures(
        seconds=seconds, served=served, refused=refused, stored_cost=stored, first_refusal_s=first_refusal
    )
    print(
        f"   {served} calls served, {refused} refused, ${stored} stored against a ${LIMIT} limit: "
        f"overshoot ${figures.overshoot} (target < ${TARGET_OVERSHOOT}); first refusal after {first_refusal:.2f} s",
        flush=True,
    )
    return figures


def runaway_record(figures: RunawayFigures, *, head: list[str], record: bool) -> None:
    """Append a row to the runaway table of docs/benchmarks.md (history kept)."""
    from .report import row_record

    f = figures
    met = "met" if f.overshoot < TARGET_OVERSHOOT else "NOT met"
    cells = [
        *head,
        f"{CALLS_PER_SECOND}/s for {f.seconds:.0f} s, ${CALL_COST.normalize()} each, 2 processes",
        f"{f.served:,} / {f.refused:,}",
        f"${f.stored_cost:.2f}",
        f"${f.overshoot:.2f} ({met})",
        f"{f.first_refusal_s:.2f} s",
    ]
    row_record("<!-- bench:runaway:rows -->", cells, record=record)
