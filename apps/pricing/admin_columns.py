"""Admin list columns that show money as money: `$3.00 /MTok`, `$1,250.00`."""

from __future__ import annotations

from django.contrib import admin

from .money import usd


def money_column(field: str, label: str, *, places: int = 2, unit: str = ""):
    """A list_display column showing `field` in dollars with its unit, sortable by the field."""

    @admin.display(description=label, ordering=field)
    def column(obj) -> str:
        value = getattr(obj, field)
        return "—" if value is None else f"{usd(value, places)}{unit}"

    column.__name__ = f"{field}_shown"
    return column
