"""Anomaly rules on plain series: the robust baseline, when a day is flagged, and its drivers."""

from __future__ import annotations

from decimal import Decimal

from apps.budgets.anomalies import Driver, baseline, drivers, is_anomalous

MIN_INCREASE = Decimal("20")


def _d(*values: str) -> list[Decimal]:
    return [Decimal(v) for v in values]


# Four weeks around $38 a day: median $38, MAD $2, so the limit is 38 + 5 × 1.4826 × 2 = $52.826.
STEADY = _d("36", "38", "40") * 9 + _d("38")


def test_the_baseline_is_the_median_and_the_scaled_median_absolute_deviation():
    typical = baseline(STEADY)

    assert (typical.median, typical.spread, typical.limit) == (Decimal("38"), Decimal("2.9652"), Decimal("52.8260"))


def test_a_spike_far_above_the_baseline_is_flagged():
    typical = is_anomalous(Decimal("412"), STEADY, min_increase=MIN_INCREASE)

    assert typical is not None
    assert typical.median == Decimal("38")


def test_a_day_just_above_the_limit_and_the_minimum_increase_is_flagged():
    assert is_anomalous(Decimal("58.00"), STEADY, min_increase=MIN_INCREASE) is not None


def test_a_day_above_the_minimum_increase_but_inside_the_spread_is_not_flagged():
    noisy = _d("40", "50", "60") * 9 + _d("50")  # median 50, MAD 10: limit $124.13

    assert is_anomalous(Decimal("120"), noisy, min_increase=MIN_INCREASE) is None


def test_a_jump_from_two_cents_to_ten_is_not_flagged():
    pennies = [Decimal("0.02")] * 28  # MAD 0: any increase breaks the limit, but $0.08 is below the minimum

    assert is_anomalous(Decimal("0.10"), pennies, min_increase=MIN_INCREASE) is None


def test_an_increase_of_exactly_the_minimum_is_flagged():
    assert is_anomalous(Decimal("58.00"), [Decimal("38")] * 28, min_increase=MIN_INCREASE) is not None


def test_an_increase_a_cent_short_of_the_minimum_is_not_flagged():
    assert is_anomalous(Decimal("57.99"), [Decimal("38")] * 28, min_increase=MIN_INCREASE) is None


def test_a_noisy_series_normal_high_day_is_not_flagged():
    noisy = _d("50", "75", "100", "125", "150") * 5 + _d("100", "100", "100")

    assert is_anomalous(Decimal("150"), noisy, min_increase=MIN_INCREASE) is None


def test_a_day_below_the_baseline_is_not_flagged():
    assert is_anomalous(Decimal("0"), STEADY, min_increase=MIN_INCREASE) is None


def test_days_without_spend_count_toward_the_baseline():
    # A weekday-only workload: its weekend zeros pull the median down, not out of the window.
    weekdays = (_d("100", "100", "100", "100", "100", "0", "0")) * 4

    assert baseline(weekdays).median == Decimal("100")
    assert is_anomalous(Decimal("100"), weekdays, min_increase=MIN_INCREASE) is None


def test_too_little_history_has_no_baseline():
    assert baseline(_d("1", "1", "1", "1", "1", "1")) is None


def test_a_spike_with_too_little_history_is_not_flagged():
    assert is_anomalous(Decimal("10000"), _d("1", "1", "1", "1", "1", "1"), min_increase=MIN_INCREASE) is None


def test_seven_days_of_history_are_enough():
    assert is_anomalous(Decimal("10000"), [Decimal("1")] * 7, min_increase=MIN_INCREASE) is not None


def test_a_drivers_share_is_its_delta_over_the_whole_increase():
    found = drivers(
        {("model", "claude-opus-4-1"): Decimal("340"), ("model", "claude-sonnet-4"): Decimal("72")},
        {("model", "claude-sonnet-4"): Decimal("38")},
        increase=Decimal("374"),
    )

    assert found == [
        Driver("model", "claude-opus-4-1", Decimal("340"), Decimal("340") / Decimal("374")),
        Driver("model", "claude-sonnet-4", Decimal("34"), Decimal("34") / Decimal("374")),
    ]
    assert f"{found[0].share * 100:.0f}%" == "91%"


def test_values_that_fell_are_not_drivers():
    found = drivers(
        {("model", "new"): Decimal("100")},
        {("model", "old"): Decimal("30")},
        increase=Decimal("70"),
    )

    assert [(d.value, d.delta) for d in found] == [("new", Decimal("100"))]


def test_a_share_is_capped_at_the_whole_increase():
    # Opus grew $100 while the subject as a whole grew $70, because the old model fell $30.
    found = drivers({("model", "new"): Decimal("100")}, {("model", "old"): Decimal("30")}, increase=Decimal("70"))

    assert found[0].share == Decimal("1")


def test_only_the_top_three_of_each_dimension_are_kept():
    today = {("customer", f"cust-{i}"): Decimal(10 * i) for i in range(1, 6)}
    today[("model", "m")] = Decimal("150")

    found = drivers(today, {}, increase=Decimal("150"))

    assert [d.value for d in found if d.dimension == "customer"] == ["cust-5", "cust-4", "cust-3"]
    assert [d.value for d in found if d.dimension == "model"] == ["m"]


def test_drivers_come_largest_first_across_dimensions():
    today = {
        ("feature", "summarise"): Decimal("30"),
        ("model", "opus"): Decimal("90"),
        ("customer", "acme"): Decimal("60"),
        ("agent", "bot"): Decimal("30"),
    }

    found = drivers(today, {}, increase=Decimal("90"))

    # Ties (the $30s) are ordered by dimension, then value, so the explanation is stable.
    assert [(d.dimension, d.value) for d in found] == [
        ("model", "opus"),
        ("customer", "acme"),
        ("agent", "bot"),
        ("feature", "summarise"),
    ]


def test_an_untagged_value_is_named_none():
    found = drivers({("customer", ""): Decimal("50")}, {}, increase=Decimal("50"))

    assert found[0].value == "(none)"


def test_there_are_no_drivers_without_an_increase():
    assert drivers({("model", "m"): Decimal("50")}, {}, increase=Decimal("0")) == []


def test_a_driver_serialises_money_as_decimal_strings():
    driver = Driver("model", "opus", Decimal("340.000000000"), Decimal("0.5"))

    assert driver.as_dict() == {"dimension": "model", "value": "opus", "delta": "340.000000000", "share": "0.5"}
