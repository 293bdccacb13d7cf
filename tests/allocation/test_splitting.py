"""Largest-remainder splitting and a monthly amount's daily parts: always exact to the nano."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.allocation.splitting import monthly_amount_for_day, split_largest_remainder


def test_it_splits_an_amount_exactly_in_proportion():
    parts = split_largest_remainder(100, {"a": 1, "b": 3}, {"a": "a", "b": "b"})

    assert parts == {"a": 25, "b": 75}


def test_the_parts_of_an_uneven_split_sum_to_the_amount():
    parts = split_largest_remainder(10, dict.fromkeys("abc", 1), {k: k for k in "abc"})

    assert sum(parts.values()) == 10


def test_the_leftover_nanos_go_to_the_largest_remainders():
    # Exact shares 1.6, 3.3 and 5.1: floors 1, 3, 5 leave one nano, which goes to the 0.6 remainder.
    parts = split_largest_remainder(10, {"a": 16, "b": 33, "c": 51}, {"a": "a", "b": "b", "c": "c"})

    assert parts == {"a": 2, "b": 3, "c": 5}


def test_ties_are_broken_by_the_order_given():
    parts = split_largest_remainder(2, dict.fromkeys("xyz", 1), {"x": "c", "y": "a", "z": "b"})

    assert parts == {"x": 0, "y": 1, "z": 1}


def test_it_takes_decimal_weights_exactly():
    parts = split_largest_remainder(
        12_000_000, {"search": Decimal("0.009"), "billing": Decimal("0.015")}, {"search": "s", "billing": "b"}
    )

    assert parts == {"search": 4_500_000, "billing": 7_500_000}


weights = st.one_of(
    st.integers(1, 10**12),
    st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(10**6), places=9),
)


@given(
    amount=st.integers(0, 10**15),
    weights=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), weights, min_size=1, max_size=12),
)
def test_any_split_sums_exactly_and_each_part_is_within_a_nano_of_its_share(amount, weights):
    parts = split_largest_remainder(amount, weights, {k: k for k in weights})

    assert sum(parts.values()) == amount
    total = sum(Fraction(w) for w in weights.values())
    for key, part in parts.items():
        assert abs(part - Fraction(amount) * Fraction(weights[key]) / total) < 1


@pytest.mark.parametrize("month", [date(2024, 2, 1), date(2025, 2, 1), date(2025, 4, 1), date(2025, 12, 1)])
@pytest.mark.parametrize("nanos", [0, 1, 29, 1_000_000_000_000, 123_456_789_012])
def test_a_monthly_amounts_daily_parts_sum_to_it_exactly(month, nanos):
    days = calendar.monthrange(month.year, month.month)[1]

    parts = [monthly_amount_for_day(nanos, month + timedelta(days=i)) for i in range(days)]

    assert sum(parts) == nanos
    assert max(parts) - min(parts) <= 1


def test_a_monthly_amount_puts_the_leftover_nanos_on_the_first_days():
    parts = [monthly_amount_for_day(32, date(2025, 4, d)) for d in (1, 2, 3)]

    assert parts == [2, 2, 1]
