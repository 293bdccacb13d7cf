"""Splitting an amount exactly in proportion to weights: whole nano-dollars, largest remainder first."""

from __future__ import annotations

from decimal import Decimal

from apps.pricing.fields import from_nanos, to_nanos
from apps.pricing.money import ZERO


def split_largest_remainder(total: Decimal, weights: dict) -> dict:
    """`total` split in proportion to `weights`, in whole nano-dollars, the leftover nano-dollars going
    to the largest remainders (ties by key): the parts add up to `total` exactly."""
    whole = sum(to_nanos(w) for w in weights.values())
    if not whole:
        return {key: ZERO for key in weights}
    units = to_nanos(total)
    parts = {key: divmod(units * to_nanos(w), whole) for key, w in weights.items()}
    leftover = units - sum(q for q, _ in parts.values())
    ranked = sorted(parts, key=lambda k: (-parts[k][1], str(k)))
    extra = {key: 1 if i < leftover else 0 for i, key in enumerate(ranked)}
    return {key: from_nanos(parts[key][0] + extra[key]) for key in weights}
