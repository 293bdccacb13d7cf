"""Largest-remainder rounding: the shown parts add up to the shown total."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.showback.display import parts_rounded


def test_three_thirds_of_a_dollar_add_up_to_a_dollar():
    third = Decimal("0.333333333")
    assert parts_rounded([third, third, Decimal("0.333333334")]) == [
        Decimal("0.33"),
        Decimal("0.33"),
        Decimal("0.34"),
    ]


def test_the_part_that_lost_most_in_rounding_gets_the_missing_cent():
    rounded = parts_rounded([Decimal("1.004"), Decimal("2.006"), Decimal("3.003")])
    assert rounded == [Decimal("1.00"), Decimal("2.01"), Decimal("3.00")]
    assert sum(rounded) == Decimal("6.01")


def test_half_cents_that_each_round_up_alone_still_sum_to_the_total():
    # Alone each shows $0.01 (half-even of 0.005001); three of them total $0.02, not $0.03.
    rounded = parts_rounded([Decimal("0.005001")] * 3)
    assert rounded == [Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]


def test_negative_parts_round_to_a_signed_total():
    rounded = parts_rounded([Decimal("6.004"), Decimal("0"), Decimal("-6.004")], Decimal("0"))
    assert rounded == [Decimal("6.00"), Decimal("0.00"), Decimal("-6.00")]


def test_a_total_the_parts_cannot_reach_is_refused():
    with pytest.raises(ValueError, match="cannot be rounded"):
        parts_rounded([Decimal("1.00")], Decimal("5.00"))
