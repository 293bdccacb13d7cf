"""Month-end forecasts and forward projections from daily spend. Pure functions on series.

The method (docs/forecasting.md): deseasonalise the last four weeks by weekday factors, take the
level of the last complete week, grow it by the week-over-week ratio when the weeks agree on a
trend (so one step change reads as a new level), and put the weekday pattern back on each day.
"""

from __future__ import annotations

import calendar
import itertools
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from apps.pricing.money import CENT

HISTORY_DAYS = 28
MIN_BAND = 0.05
MAX_WEEKLY_GROWTH = 2.0


@dataclass(frozen=True)
class Forecast:
    actual: Decimal  # spend so far this month, today included
    month_end: Decimal
    low: Decimal
    high: Decimal
    daily: list[tuple[date, Decimal]]  # the forecast for each day not yet complete


def _series(daily: dict[date, Decimal], end: date, days: int) -> list[tuple[date, float]]:
    return [(d, float(daily.get(d, 0))) for d in (end - timedelta(days=days - 1 - i) for i in range(days))]


def _weeks(history: list) -> list[list]:
    """The history's whole weeks, the last one ending at its last day."""
    return [history[i : i + 7] for i in range(len(history) % 7, len(history), 7)]


def _weekday_factors(history: list[tuple[date, float]]) -> dict[int, float]:
    """Each weekday's share of its own week, the median over the weeks (so a change of level
    between weeks does not bend the pattern); all 1.0 without two whole weeks to learn from."""
    ratios: dict[int, list[float]] = {w: [] for w in range(7)}
    for week in _weeks(history):
        mean = statistics.fmean(v for _, v in week)
        if mean > 0:
            for d, v in week:
                ratios[d.weekday()].append(v / mean)
    if min(len(r) for r in ratios.values()) < 2:
        return dict.fromkeys(range(7), 1.0)
    factors = {w: statistics.median(r) for w, r in ratios.items()}
    scale = statistics.fmean(factors.values()) or 1.0
    return {w: f / scale for w, f in factors.items()}


def _weekly_growth(deseasonalised: list[float]) -> float:
    """Growth per week, read only when every week-over-week ratio agrees on its direction; then
    the most cautious one. A single step change gives one ratio near 1 and so reads as a new
    level, not a trend."""
    weeks = [sum(week) for week in _weeks(deseasonalised)]
    ratios = [later / earlier for earlier, later in itertools.pairwise(weeks) if earlier > 0]
    if not ratios or not (all(r > 1 for r in ratios) or all(r < 1 for r in ratios)):
        return 1.0
    cautious = min(ratios, key=lambda r: abs(r - 1))
    return min(max(cautious, 1 / MAX_WEEKLY_GROWTH), MAX_WEEKLY_GROWTH)


@dataclass(frozen=True)
class DailyModel:
    level: float  # deseasonalised spend per day at `centre`
    centre: date
    daily_growth: float
    factors: dict[int, float]
    spread: float  # robust relative spread of the history around the model

    def predict(self, day: date) -> float:
        return max(self.level * self.factors[day.weekday()] * self.daily_growth ** (day - self.centre).days, 0.0)


def daily_model(daily: dict[date, Decimal], *, last_complete_day: date) -> DailyModel:
    history = _series(daily, last_complete_day, HISTORY_DAYS)
    first_spend = next((i for i, (_, v) in enumerate(history) if v), len(history))
    history = history[first_spend:]  # a subject that started recently has no zeros before it began
    if not history:
        return DailyModel(0.0, last_complete_day, 1.0, dict.fromkeys(range(7), 1.0), 0.0)
    factors = _weekday_factors(history)
    # Days whose weekday never spends (factor 0) say nothing about the level.
    deseasonalised = [v / factors[d.weekday()] if factors[d.weekday()] else None for d, v in history]
    recent = [v for v in deseasonalised[-7:] if v is not None]
    growth = _weekly_growth([v or 0.0 for v in deseasonalised]) ** (1 / 7)
    model = DailyModel(
        level=statistics.fmean(recent) if recent else 0.0,
        centre=last_complete_day - timedelta(days=3),
        daily_growth=growth,
        factors=factors,
        spread=0.0,
    )
    errors = [v / model.predict(d) - 1 for d, v in history[-7:] if model.predict(d) > 0]
    spread = 1.4826 * statistics.median(abs(e - statistics.median(errors)) for e in errors) if len(errors) > 2 else 0
    return DailyModel(model.level, model.centre, model.daily_growth, factors, spread)


def month_end_forecast(daily: dict[date, Decimal], *, today: date) -> Forecast:
    """Forecast the month containing `today`. Today is incomplete: the model learns from days up
    to yesterday and today counts as the larger of its forecast and what it has spent so far."""
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    model = daily_model(daily, last_complete_day=today - timedelta(days=1))
    complete = sum((daily.get(month_start + timedelta(days=i), Decimal(0)) for i in range(today.day - 1)), Decimal(0))
    today_actual = daily.get(today, Decimal(0))
    forecast_days = [today + timedelta(days=i) for i in range((month_end - today).days + 1)]
    predicted = [(d, Decimal(repr(model.predict(d))).quantize(CENT)) for d in forecast_days]
    predicted[0] = (today, max(predicted[0][1], today_actual))
    remaining = sum((v for _, v in predicted), Decimal(0))
    # A band for a sum of n days whose errors are independent, never narrower than ±5%.
    width = Decimal(repr(max(MIN_BAND, 2 * model.spread / len(predicted) ** 0.5)))
    return Forecast(
        actual=complete + today_actual,
        month_end=(complete + remaining).quantize(CENT),
        low=max(complete + today_actual, complete + remaining * (1 - width)).quantize(CENT),
        high=(complete + remaining * (1 + width)).quantize(CENT),
        daily=predicted,
    )


def monthly_projection(daily: dict[date, Decimal], *, today: date, months: int = 3) -> list[tuple[date, Decimal]]:
    """Spend in each of the next `months` calendar months after this one, from the same model."""
    model = daily_model(daily, last_complete_day=today - timedelta(days=1))
    projection = []
    start = today.replace(day=calendar.monthrange(today.year, today.month)[1]) + timedelta(days=1)
    for _ in range(months):
        days = calendar.monthrange(start.year, start.month)[1]
        total = sum(model.predict(start + timedelta(days=i)) for i in range(days))
        projection.append((start, Decimal(repr(total)).quantize(CENT)))
        start += timedelta(days=days)
    return projection
