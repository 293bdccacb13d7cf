"""Unbounded output and bloated context: a feature whose 95th-percentile output (or input) per call
is far above its median, and what the calls in that tail cost beyond the cap."""

from __future__ import annotations

import math
import statistics
from datetime import date
from decimal import Decimal

from django.db.models import Count

from apps.pricing.rating import TokenCounts, event_rate
from apps.usage.models import UsageEvent

from ..models import SavingsSettings
from ..selectors import window
from . import SAVING, Finding, Scope, finding, money_text

FIELDS = (
    "provider",
    "model",
    "timestamp",
    "service_tier",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
)
LEVERS = {"output_tokens": "unbounded_output", "input_tokens": "bloated_context"}


def p95(values: list[int]) -> int:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _rate(e: dict, **changes) -> Decimal:
    tokens = {k: e[k] for k in FIELDS if k.endswith("_tokens")} | changes
    return event_rate(
        provider=e["provider"],
        model=e["model"],
        timestamp=e["timestamp"],
        service_tier=e["service_tier"],
        tokens=TokenCounts(**tokens),
    ).billed_cost


def _capped(e: dict, field: str, cap: int) -> dict:
    if field == "output_tokens":
        return {"output_tokens": cap}
    # Cached input stays: only the uncached part of a bloated prompt is trimmed.
    return {"input_tokens": max(cap, e["cache_read_tokens"] + e["cache_write_tokens"])}


def tails_detect(today: date, config: SavingsSettings) -> list[Finding]:
    start, end = window(today)
    events = UsageEvent.objects.filter(
        day__gte=start, day__lte=end, team__isnull=False, unpriced=False, usage_missing=False
    )
    scopes = (
        events.values("team_id", "product_id", "feature")
        .annotate(calls=Count("id"))
        .filter(calls__gte=config.min_calls)
        .order_by()
    )
    findings = []
    for scope in scopes:
        where = {k: scope[k] for k in ("team_id", "product_id", "feature")}
        # The most recent calls only: a busy feature's distribution is clear long before it is read whole.
        sample = list(events.filter(**where).order_by("-timestamp").values(*FIELDS)[: config.tail_max_events])
        for field, lever in LEVERS.items():
            values = [e[field] for e in sample]
            median, high = Decimal(str(statistics.median(values))), p95(values)
            if median <= 0 or high < median * config.tail_ratio:
                continue
            cap = int(median * config.tail_ratio)
            tail = [e for e in sample if e[field] > cap]
            excess = sum((_rate(e) - _rate(e, **_capped(e, field, cap)) for e in tail), Decimal(0))
            excess = excess * scope["calls"] / len(sample)
            noun = "output" if field == "output_tokens" else "input"
            subject = Scope(**where)
            findings.append(
                finding(
                    lever=lever,
                    scope=subject,
                    saving=excess,
                    config=config,
                    sentence=(
                        f"{subject.subject} has a 95th-percentile {noun} of {high} tokens a call against a median of "
                        f"{median.normalize():f}; capping the {len(tail)} calls above {cap} tokens saves {SAVING} a "
                        "month."
                    ),
                    evidence={
                        "calls": scope["calls"],
                        "calls_read": len(sample),
                        "median": str(median),
                        "p95": high,
                        "cap": cap,
                        "tail_calls": len(tail),
                        "tail_excess_cost": money_text(excess.quantize(Decimal("0.000000001"))),
                    },
                )
            )
    return [f for f in findings if f]
