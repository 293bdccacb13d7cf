"""Money stored as an exact integer count of nano-dollars, read and written as Decimal."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models

NANO = Decimal("0.000000001")


def to_nanos(amount: Decimal) -> int:
    """Round half-even to 1e-9 and return the integer count of nano-units."""
    return int(amount.quantize(NANO, rounding=ROUND_HALF_EVEN).scaleb(9))


def from_nanos(nanos: int) -> Decimal:
    return Decimal(nanos).scaleb(-9).quantize(NANO)


class MoneyField(models.BigIntegerField):
    """A Decimal amount with exactly nine places, kept as BIGINT nano-units.

    SQLite has no exact decimal type (it would sum these as floats), so money is an integer in
    every database; SUM() stays exact in SQL and rollups can add it without Python. The range,
    ±9.2e9 in the currency, bounds any single stored amount or rollup row.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else from_nanos(value)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        return to_nanos(Decimal(value))

    def formfield(self, **kwargs):
        from django import forms

        return forms.DecimalField(max_digits=20, decimal_places=9, **kwargs)
