"""Money constants and formatting shared by every app: exact Decimals, shown as dollars."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal("0E-9")  # a sum of stored amounts that found nothing: nine places, like MoneyField
CENT = Decimal("0.01")


def usd(amount: Decimal | int, places: int = 2) -> str:
    """`-$1,234.57`: rounded half-even to `places` decimals, thousands separated."""
    rounded = Decimal(amount).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{'-' if rounded < 0 else ''}${abs(rounded):,}"


def usd_exact(amount: Decimal | int) -> str:
    """`$8.25`, `$0.000123`: every significant digit of an exact amount, and at least the cents."""
    value = Decimal(amount)
    places = max(2, -value.normalize().as_tuple().exponent) if value else 2
    return usd(value, places)
