"""Template filters for money and shares: `{{ amount|usd }}`, `{{ share|pct }}`, `{{ change|signed_pct }}`."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django import template

register = template.Library()


@register.filter
def usd(value, places: int = 2) -> str:
    if value is None or value == "":
        return "—"
    amount = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_EVEN)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,}"


@register.filter
def pct(value, places: int = 1) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.{int(places)}f}%"


@register.filter
def signed_pct(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:+.1f}%"
