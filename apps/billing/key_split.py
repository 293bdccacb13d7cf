"""Splitting a project's billed cost across the API keys that used it, priced with the price table.

OpenAI's costs come per project and line item, its usage per project, API key and model. A
project's line is split over the keys whose usage of that day it covers, in proportion to that
usage priced with the price table (`event_rate`): the line's model's usage where the usage report
has it, else the project's whole usage. The parts are whole nano-dollars, the largest remainders
first, so they add up to the line exactly; an API key id scope mapping then attributes each part.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from apps.pricing.money import ZERO
from apps.pricing.rating import TokenCounts, event_rate

from .pulls import CostRow, Report, UsageRow
from .splitting import split_largest_remainder


def _priced(provider: str, usage: UsageRow) -> Decimal:
    at = datetime(usage.day.year, usage.day.month, usage.day.day, 12, tzinfo=UTC)
    tokens = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
    }
    rating = event_rate(
        provider=provider,
        model=usage.model,
        timestamp=at,
        tokens=TokenCounts(**tokens),
        service_tier=usage.service_tier,
    )
    return ZERO if rating.unpriced else rating.billed_cost


def report_costs_split_by_key(*, provider: str, report: Report) -> list[CostRow]:
    """The report's cost rows, each project's split over the API keys whose priced usage it covers."""
    weights: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for usage in report.usage:
        if not usage.api_key_id or not usage.scope:
            continue
        priced = _priced(provider, usage)
        weights[(usage.day, usage.scope, usage.model)][usage.api_key_id] += priced
        weights[(usage.day, usage.scope, "")][usage.api_key_id] += priced
    rows: list[CostRow] = []
    for cost in report.costs:
        if cost.api_key_id or not cost.scope:
            rows.append(cost)
            continue
        model = _usage_model(cost.model, weights, cost)
        by_key = _positive(weights.get((cost.day, cost.scope, model))) or _positive(
            weights.get((cost.day, cost.scope, ""))
        )
        if not by_key:
            rows.append(cost)
            continue
        parts = split_largest_remainder(cost.amount, by_key)
        rows += [replace(cost, amount=amount, api_key_id=key) for key, amount in sorted(parts.items()) if amount]
    return rows


def _usage_model(line_model: str, weights: dict, cost: CostRow) -> str:
    """The usage report's model a cost line's model stands for: the same name, else the longest
    usage model it starts with (`gpt-4o-2024-08-06` on the line, `gpt-4o` in usage); "" if none."""
    models = {m for (day, scope, m) in weights if day == cost.day and scope == cost.scope and m}
    if line_model in models:
        return line_model
    return next((m for m in sorted(models, key=len, reverse=True) if line_model.startswith(m)), "")


def _positive(weights: dict[str, Decimal] | None) -> dict[str, Decimal]:
    return {key: w for key, w in (weights or {}).items() if w > 0}
