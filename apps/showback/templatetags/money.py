"""Template filters for money and shares: `{{ amount|usd }}`, `{{ share|pct }}`, `{{ change|signed_pct }}`."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apps.pricing import money

register = template.Library()


@register.filter
def usd(value, places: int = 2) -> str:
    if value is None or value == "":
        return "—"
    return money.usd(value, int(places))


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


@register.filter
def count(value) -> str:
    """`12,345`: a count with thousands separators."""
    if value is None or value == "":
        return "—"
    return f"{int(value):,}"
