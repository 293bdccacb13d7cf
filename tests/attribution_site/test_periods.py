"""The month a page shows and the periods it is compared with."""

from __future__ import annotations

from datetime import date

import pytest

from attribution_site.periods import MonthPeriod


def test_the_running_month_ends_today():
    period = MonthPeriod.parse(None, today=date(2026, 11, 25))
    assert (period.start, period.end, period.month_end) == (date(2026, 11, 1), date(2026, 11, 25), date(2026, 11, 30))
    assert period.is_running and period.days_elapsed == 25


def test_the_months_last_day_is_still_running():
    period = MonthPeriod.parse(None, today=date(2026, 11, 30))
    assert (period.end, period.is_running, period.days_elapsed) == (date(2026, 11, 30), True, 30)
    assert not period.previous().is_running


def test_a_past_month_is_whole():
    period = MonthPeriod.parse("2026-02", today=date(2026, 11, 25))
    assert (period.end, period.is_running, period.days_elapsed) == (date(2026, 2, 28), False, 28)


@pytest.mark.parametrize("value", ["2026-13", "26-01", "2026/01", "now", "2026-1", "2026-12", "9999-12", "0001-01"])
def test_it_refuses_what_is_not_a_month(value):
    with pytest.raises(ValueError):
        MonthPeriod.parse(value, today=date(2026, 11, 25))


def test_same_days_last_month_stop_at_its_end():
    period = MonthPeriod.parse(None, today=date(2026, 3, 31))
    assert period.previous_same_days() == (date(2026, 2, 1), date(2026, 2, 28))
    assert MonthPeriod.parse(None, today=date(2026, 3, 10)).previous_same_days() == (
        date(2026, 2, 1),
        date(2026, 2, 10),
    )


def test_months_back_crosses_the_year():
    assert MonthPeriod.parse("2026-02", today=date(2026, 11, 25)).months_back(6) == date(2025, 9, 1)
