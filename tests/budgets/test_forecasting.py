"""Month-end forecasts and forward projections on synthetic series whose answer is known."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from apps.budgets.forecasting import Forecast, month_end_forecast, monthly_projection

# A Monday in the middle of November 2026 (30 days; the 1st is a Sunday): 15 complete days,
# today, and 14 days to go.
TODAY = date(2026, 11, 16)
MONTH_END = date(2026, 11, 30)
HISTORY_START = TODAY - timedelta(days=60)


def _series(spend: Callable[[date], Decimal], *, start: date = HISTORY_START) -> dict[date, Decimal]:
    """The whole series, month end included: the truth the forecast is judged against."""
    return {start + timedelta(days=i): spend(start + timedelta(days=i)) for i in range((MONTH_END - start).days + 1)}


def _forecast(truth: dict[date, Decimal], *, today_spend: Decimal | None = None) -> Forecast:
    """What the forecast sees: everything up to today, today at its full value unless given."""
    known = {d: v for d, v in truth.items() if d <= TODAY}
    if today_spend is not None:
        known[TODAY] = today_spend
    return month_end_forecast(known, today=TODAY)


def _month_total(truth: dict[date, Decimal]) -> Decimal:
    return sum((v for d, v in truth.items() if d >= TODAY.replace(day=1)), Decimal(0))


def _remaining(forecast: Forecast) -> Decimal:
    return sum((v for _, v in forecast.daily), Decimal(0))


def flat(day: date) -> Decimal:
    return Decimal("100.00")


def weekly_seasonal(day: date) -> Decimal:
    return Decimal("100.00") if day.weekday() < 5 else Decimal("20.00")


def weekday_only(day: date) -> Decimal:
    return Decimal("100.00") if day.weekday() < 5 else Decimal("0.00")


def growing(day: date) -> Decimal:
    """2% a day, compounding."""
    return Decimal(100 * 1.02 ** (day - HISTORY_START).days).quantize(Decimal("0.01"))


def seasonal_growing(day: date) -> Decimal:
    return (growing(day) * (1 if day.weekday() < 5 else Decimal("0.2"))).quantize(Decimal("0.01"))


def step_change(day: date) -> Decimal:
    """$100 a day until 10 days before today, $200 a day since."""
    return Decimal("200.00") if day >= TODAY - timedelta(days=10) else Decimal("100.00")


def test_a_flat_series_forecasts_its_level_for_every_remaining_day():
    forecast = _forecast(_series(flat))

    assert forecast.month_end == Decimal("3000.00")
    assert forecast.actual == Decimal("1600.00")


def test_a_weekly_pattern_is_put_back_on_each_remaining_day():
    forecast = _forecast(_series(weekly_seasonal))

    # 21 weekdays at $100 and 9 weekend days at $20.
    assert forecast.month_end == Decimal("2280.00")
    assert dict(forecast.daily)[date(2026, 11, 21)] == Decimal("20.00")  # a Saturday
    assert dict(forecast.daily)[date(2026, 11, 23)] == Decimal("100.00")  # a Monday


def test_a_workload_that_never_runs_at_weekends_forecasts_nothing_for_them():
    forecast = _forecast(_series(weekday_only))

    assert forecast.month_end == Decimal("2100.00")
    assert dict(forecast.daily)[date(2026, 11, 22)] == Decimal("0.00")  # a Sunday


def test_a_series_growing_two_percent_a_day_is_forecast_within_one_percent():
    truth = _series(growing)
    forecast = _forecast(truth)

    assert abs(forecast.month_end / _month_total(truth) - 1) < Decimal("0.01")


def test_a_weekly_pattern_on_a_growing_series_is_forecast_within_two_percent():
    truth = _series(seasonal_growing)
    forecast = _forecast(truth)

    assert abs(forecast.month_end / _month_total(truth) - 1) < Decimal("0.02")


def test_a_step_change_ten_days_ago_reads_as_the_new_level_not_a_trend():
    forecast = _forecast(_series(step_change))

    # 5 days at $100 before the step, then 25 at $200.
    assert forecast.month_end == Decimal("5500.00")


def test_the_band_contains_the_true_month_end_of_every_test_series():
    for spend in (flat, weekly_seasonal, weekday_only, growing, seasonal_growing, step_change):
        truth = _series(spend)
        forecast = _forecast(truth)

        assert forecast.low <= _month_total(truth) <= forecast.high, spend.__name__


def test_the_band_is_at_least_five_percent_of_the_remaining_spend_each_way():
    for spend in (flat, weekly_seasonal, growing, step_change):
        forecast = _forecast(_series(spend))
        five_percent = _remaining(forecast) * Decimal("0.05")

        assert forecast.high - forecast.month_end >= five_percent - Decimal("0.01"), spend.__name__
        assert forecast.month_end - forecast.low >= five_percent - Decimal("0.01"), spend.__name__


def test_a_flat_series_gets_exactly_the_five_percent_band():
    forecast = _forecast(_series(flat))

    # $1,500 to come (today included): ±$75.
    assert (forecast.low, forecast.high) == (Decimal("2925.00"), Decimal("3075.00"))


def test_a_noisy_series_gets_a_band_wider_than_five_percent():
    rng = random.Random(2)
    noisy = _series(lambda d: Decimal(100 * (1 + rng.uniform(-0.5, 0.5))).quantize(Decimal("0.01")))
    forecast = _forecast(noisy)

    # Its last week's errors have a robust spread of about 34%: 2 × 0.34 / √15 ≈ ±17%.
    assert forecast.high - forecast.month_end > _remaining(forecast) * Decimal("0.15")


def test_todays_spend_above_its_forecast_is_kept():
    forecast = _forecast(_series(flat), today_spend=Decimal("250.00"))

    assert forecast.daily[0] == (TODAY, Decimal("250.00"))
    assert forecast.month_end == Decimal("3150.00")


def test_todays_partial_spend_below_its_forecast_counts_as_the_forecast():
    forecast = _forecast(_series(flat), today_spend=Decimal("30.00"))

    assert forecast.actual == Decimal("1530.00")
    assert forecast.daily[0] == (TODAY, Decimal("100.00"))
    assert forecast.month_end == Decimal("3000.00")


def test_the_low_end_of_the_band_is_never_below_what_is_spent_already():
    forecast = _forecast(_series(flat), today_spend=Decimal("250.00"))

    assert forecast.low >= forecast.actual


def test_a_subject_with_three_days_of_history_is_forecast_at_its_average():
    truth = _series(lambda d: Decimal("50.00"), start=TODAY - timedelta(days=3))
    forecast = _forecast(truth)

    # Started on the 13th: 18 days at $50, no zeros read into the days before it began.
    assert forecast.month_end == Decimal("900.00")


def test_a_subject_with_no_history_forecasts_only_todays_spend():
    forecast = month_end_forecast({TODAY: Decimal("12.00")}, today=TODAY)

    assert (forecast.actual, forecast.month_end) == (Decimal("12.00"), Decimal("12.00"))


def test_the_three_month_projection_of_a_flat_series_is_the_level_times_the_days():
    truth = _series(flat)
    known = {d: v for d, v in truth.items() if d < TODAY}

    assert monthly_projection(known, today=TODAY, months=3) == [
        (date(2026, 12, 1), Decimal("3100.00")),
        (date(2027, 1, 1), Decimal("3100.00")),
        (date(2027, 2, 1), Decimal("2800.00")),
    ]


def test_the_projection_keeps_the_weekly_pattern():
    truth = _series(weekday_only)
    known = {d: v for d, v in truth.items() if d < TODAY}

    # December 2026 has 23 weekdays.
    assert monthly_projection(known, today=TODAY, months=1) == [(date(2026, 12, 1), Decimal("2300.00"))]
