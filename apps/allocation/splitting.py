"""Splitting an amount of nano-dollars by weights so the parts add up to it exactly."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

K = TypeVar("K")


def split_largest_remainder(amount: int, weights: dict[K, Decimal | int], order: dict[K, str]) -> dict[K, int]:
    """Split `amount` (integer nano-units) in proportion to `weights` (all > 0).

    Rounding rule: each part is first rounded down to the nano; the nanos left over go one each
    to the parts with the largest remainders, ties broken by `order` (e.g. team slug). The parts
    therefore always sum exactly to `amount`, and no part differs from its exact share by a nano
    or more.
    """
    total = sum(Fraction(w) for w in weights.values())
    exact = {key: Fraction(amount) * Fraction(w) / total for key, w in weights.items()}
    parts = {key: int(share) for key, share in exact.items()}  # int() floors these non-negative shares
    leftover = amount - sum(parts.values())
    by_remainder = sorted(exact, key=lambda k: (-(exact[k] - parts[k]), order[k]))
    for key in by_remainder[:leftover]:
        parts[key] += 1
    return parts


def monthly_amount_for_day(amount: int, day: date) -> int:
    """The day's part of a monthly amount: equal parts, the leftover nanos on the first days."""
    days = calendar.monthrange(day.year, day.month)[1]
    base, leftover = divmod(amount, days)
    return base + (1 if day.day <= leftover else 0)
