"""Live spend of the hard-limit budgets, counted per recorded call across every gateway process.

The rollups' figure of a budget lags by up to a minute or more (drain, dirty marks, rebuild
interval), which lets a runaway spend long after its limit. So each recorded call's billed cost
is added, in Redis, to a total per budget (`INCRBY` on whole nano-dollars, in the same MULTI as
the event's RPUSH, so a counted call is a recorded call) and to a 5-second bucket kept for an
hour. Every process reads the totals every GATEWAY_SPEND_POLL_SECONDS and refuses the calls of a
budget whose total reached its amount; the process that counted the crossing call knows at once.

On each budget refresh a total is reset to the rollups' figure plus the buckets recorded since
the rollups were complete (apps.gateway.selectors.hard_limits_in_force), less a slack for the
drain; so a total never drifts from the rollups for longer than one refresh, and spend the
rollups have not seen yet is not forgotten. Spend in the slack may be counted twice for a moment
(a refusal a little early), never missed. While Redis is unreachable each process counts the
calls it serves itself, the same way, in memory.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from decimal import Decimal

from apps.pricing.money import usd

from .selectors import HardLimit, HardLimits, Scope

BUCKET_SECONDS = 5
BUCKETS_KEPT = 720  # an hour: rollups older than that are stale anyway, and the rest is lost
TOTAL_TTL_SECONDS = 40 * 86400  # a month's total outlives its month
NANO = Decimal("1e-9")

# KEYS: total, bucket, total, bucket, …; ARGV: nanos, bucket TTL, total TTL. Returns the new totals.
COUNT_SCRIPT = """
local totals = {}
for i = 1, #KEYS, 2 do
  totals[#totals + 1] = redis.call('incrby', KEYS[i], ARGV[1])
  redis.call('expire', KEYS[i], ARGV[3])
  redis.call('incrby', KEYS[i + 1], ARGV[1])
  redis.call('expire', KEYS[i + 1], ARGV[2])
end
return totals
"""
# KEYS: total, then the buckets since the rollups were complete; ARGV: the rollups' nanos, total TTL.
# INCRBY keeps the sum in exact 64-bit integers (Lua numbers are doubles).
RESET_SCRIPT = """
redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2])
local total = tonumber(ARGV[1])
for i = 2, #KEYS do
  local counted = redis.call('get', KEYS[i])
  if counted then total = redis.call('incrby', KEYS[1], counted) end
end
return total
"""


def total_key(limit: HardLimit) -> str:
    kind, scope_id = limit.scope
    return f"gateway:spend:{limit.month}:{kind}:{'' if scope_id is None else scope_id}"


def bucket_of(at: float) -> int:
    return int(at // BUCKET_SECONDS)


def nanos_of(amount: Decimal) -> int:
    return int(amount.scaleb(9).to_integral_value())


class SpendCounts:
    """Counted spend (whole nano-dollars) of each hard-limit budget; `redis` None: in memory only."""

    def __init__(self, redis) -> None:
        self.redis = redis
        self.totals: dict[Scope, int] = {}
        # Calls admitted here and not yet ended, and the cost of the last one recorded here, per
        # budget: the spend a call in flight is expected to add before it is counted.
        self.in_flight: dict[Scope, int] = defaultdict(int)
        self.last_cost: dict[Scope, int] = {}
        self._local: dict[str, dict[int, int]] = defaultdict(dict)  # total key → bucket → nanos
        if redis is not None:
            self._count_script = redis.register_script(COUNT_SCRIPT)
            self._reset_script = redis.register_script(RESET_SCRIPT)

    # --- a recorded call ------------------------------------------------------------------
    async def count_queue(self, pipeline, *, limits: list[HardLimit], nanos: int, at: float) -> None:
        """Queue the call's count on the pipeline that records its event (apps.gateway.recording)."""
        keys: list[str] = []
        for limit in limits:
            total = total_key(limit)
            keys += [total, f"{total}:{bucket_of(at)}"]
        await self._count_script(
            keys=keys, args=[nanos, BUCKET_SECONDS * BUCKETS_KEPT, TOTAL_TTL_SECONDS], client=pipeline
        )

    def counted(self, *, limits: list[HardLimit], totals: list[int], nanos: int) -> None:
        for limit, total in zip(limits, totals, strict=True):
            self.totals[limit.scope] = int(total)
            self.last_cost[limit.scope] = nanos

    def count_here(self, *, limits: list[HardLimit], nanos: int, at: float) -> None:
        """Count a call in this process only (no Redis, or its event went to the database)."""
        for limit in limits:
            buckets = self._local[total_key(limit)]
            buckets[bucket_of(at)] = buckets.get(bucket_of(at), 0) + nanos
            self.totals[limit.scope] = self.totals.get(limit.scope, nanos_of(limit.rolled_up)) + nanos
            self.last_cost[limit.scope] = nanos

    # --- calls in flight ------------------------------------------------------------------
    def admit(self, limits: list[HardLimit]) -> str | None:
        """Why a call is refused because the calls in flight here are expected to reach a limit
        (each at the cost of the last call recorded here), else None: the call is then in flight
        until `release`. A call is counted only when it ends, so without this a runaway's calls
        admitted before the crossing one was counted would all spend."""
        for limit in limits:
            in_flight = self.in_flight[limit.scope]
            estimate = self.last_cost.get(limit.scope, 0)
            if not (in_flight and estimate):
                continue
            counted = max(self.totals.get(limit.scope, 0), nanos_of(limit.rolled_up))
            expected = counted + in_flight * estimate
            if expected >= nanos_of(limit.amount):
                return (
                    f"The {limit.month} budget of {limit.label} (hard limit) is spent by the calls in flight: "
                    f"{usd(counted * NANO)} counted and {in_flight} calls under way, about {usd(expected * NANO)} "
                    f"of {usd(limit.amount)}."
                )
        for limit in limits:
            self.in_flight[limit.scope] += 1
        return None

    def release(self, limits: list[HardLimit]) -> None:
        for limit in limits:
            self.in_flight[limit.scope] -= 1

    # --- the background loops -------------------------------------------------------------
    async def reset(self, hard_limits: HardLimits, *, slack_seconds: float) -> None:
        """Totals := the rollups' figure + what was counted since the rollups were complete."""
        since = bucket_of(hard_limits.complete_until.timestamp() - slack_seconds)
        now = bucket_of(time.time())
        buckets = range(max(since, now - BUCKETS_KEPT + 1), now + 1)
        limits = list(hard_limits.limits.values())
        self._local_forget(now)
        if self.redis is None:
            for limit in limits:
                counted = self._local[total_key(limit)]
                self.totals[limit.scope] = nanos_of(limit.rolled_up) + sum(counted.get(b, 0) for b in buckets)
            return
        async with self.redis.pipeline(transaction=False) as pipeline:
            for limit in limits:
                total = total_key(limit)
                keys = [total, *(f"{total}:{bucket}" for bucket in buckets)]
                await self._reset_script(
                    keys=keys, args=[nanos_of(limit.rolled_up), TOTAL_TTL_SECONDS], client=pipeline
                )
            totals = await pipeline.execute()
        self.totals = {limit.scope: int(total) for limit, total in zip(limits, totals, strict=True)}

    async def poll(self, hard_limits: HardLimits) -> None:
        """Read every process's counts (one MGET)."""
        limits = list(hard_limits.limits.values())
        if self.redis is None or not limits:
            return
        values = await self.redis.mget([total_key(limit) for limit in limits])
        for limit, value in zip(limits, values, strict=True):
            if value is not None:
                self.totals[limit.scope] = int(value)

    def exhausted(self, hard_limits: HardLimits) -> dict[Scope, str]:
        """{scope: why} for each budget whose spend reached its amount: the counted total, or the
        rollups' figure where that is higher (a total lost with a Redis flush never lowers it)."""
        exhausted: dict[Scope, str] = {}
        for limit in hard_limits.limits.values():
            counted = self.totals.get(limit.scope)
            spent = limit.rolled_up if counted is None else max(limit.rolled_up, counted * NANO)
            refusal = limit.refusal(spent)
            if refusal:
                exhausted[limit.scope] = refusal
        return exhausted

    def _local_forget(self, now: int) -> None:
        for buckets in self._local.values():
            for bucket in [b for b in buckets if b <= now - BUCKETS_KEPT]:
                del buckets[bucket]


def slack_seconds(drain_interval: float) -> float:
    """How long after its call an event may reach the database: a drain interval, a bucket, a second's margin."""
    return math.ceil(drain_interval) + BUCKET_SECONDS + 1
