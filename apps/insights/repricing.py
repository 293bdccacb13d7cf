"""Exact re-pricing of summed tokens with the price table, the way the rating prices one event."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from apps.pricing.fields import NANO
from apps.pricing.rating import MILLION, Catalog

MONTH_DAYS = Decimal(30)


@dataclass(frozen=True)
class Tokens:
    """Summed token counts of calls priced alike (cache counts are subsets of input, as in events)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0

    def with_(self, **changes) -> Tokens:
        return replace(self, **changes)


def tokens_cost(
    *, prices: Catalog, provider: str, model: str, at: datetime, tokens: Tokens, long: bool, tier: str
) -> Decimal | None:
    """Billed cost of `tokens` on `model` at `at`, or None when the table has no price for it.

    The same formula as apps.pricing.rating.event_rate, applied to a sum: the rating chooses the
    long-context prices per call by its input size, so callers sum long-context calls apart and
    say so with `long` (a sum of small calls must not cross the threshold).
    """
    price = prices.price_at(provider, model, at)
    if price is None:
        return None
    per_token = price.long if long and price.long is not None else price.base
    p_input, p_read, p_write, p_write_1h, p_output = per_token
    uncached = tokens.input - tokens.cache_read - tokens.cache_write
    cost = (
        uncached * p_input
        + tokens.cache_read * p_read
        + (tokens.cache_write - tokens.cache_write_1h) * p_write
        + tokens.cache_write_1h * p_write_1h
        + tokens.output * p_output
    ) / MILLION
    if tier == "batch":
        cost *= price.batch_factor
    cost *= prices.discount_factor(provider, prices.resolve(provider, model), at)
    return cost.quantize(NANO, rounding=ROUND_HALF_EVEN)


def monthly(amount: Decimal, *, days: int) -> Decimal:
    """An amount seen over `days` days, per 30-day month."""
    return (amount * MONTH_DAYS / days).quantize(NANO, rounding=ROUND_HALF_EVEN)
