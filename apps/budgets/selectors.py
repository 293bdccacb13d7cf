"""Reads for budgets: daily spend of a subject, the budget in force, forecasts against it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from apps.allocation.selectors import costs_report
from apps.org.models import Product, Team
from apps.pricing.money import ZERO
from apps.rollups.models import DailyBreakdown
from attribution_site.periods import MonthPeriod

from .forecasting import HISTORY_DAYS, Forecast, month_end_forecast, monthly_projection
from .models import Anomaly, Budget


def daily_spend(
    *, start: date, end: date, team: Team | None = None, product: Product | None = None, include_allocated=True
) -> dict[date, Decimal]:
    """Spend per day of a team (with or without shared costs), a product, or the organisation."""
    if product is not None:
        rows = DailyBreakdown.objects.filter(dimension="product", value=product.slug, day__gte=start, day__lte=end)
        return {r["day"]: r["cost"] for r in rows.values("day").annotate(cost=Sum("billed_cost"))}
    report = costs_report(start=start, end=end, group_by=["day"], filters={}, team_ids=[team.id] if team else None)
    return {r.key["day"]: (r.total if include_allocated else r.direct_cost) for r in report.rows}


def budgets_in_force(*, month: date) -> list[Budget]:
    """The budget of each scope for the month: its latest row starting on or before the month."""
    chosen: dict[tuple, Budget] = {}
    for budget in Budget.objects.filter(effective_from__lte=month.replace(day=1)).select_related("team", "product"):
        key = (budget.team_id, budget.product_id)
        if key not in chosen or budget.effective_from > chosen[key].effective_from:
            chosen[key] = budget
    return list(chosen.values())


@dataclass(frozen=True)
class Outlook:
    """A subject's month: spend per day so far, its total, and (while running) the forecast."""

    daily: list[tuple[date, Decimal]]
    actual: Decimal
    forecast: Forecast | None  # None for a month that is over (or not begun)


def outlook(
    *,
    period: MonthPeriod,
    team: Team | None = None,
    product: Product | None = None,
    include_allocated: bool = True,
) -> Outlook:
    history_start = min(period.start, period.today - timedelta(days=HISTORY_DAYS + 1))
    daily = daily_spend(
        start=history_start, end=period.end, team=team, product=product, include_allocated=include_allocated
    )
    month = sorted((d, v) for d, v in daily.items() if d >= period.start)
    return Outlook(
        daily=month,
        actual=sum((v for _, v in month), ZERO),
        forecast=month_end_forecast(daily, today=period.today) if period.is_running else None,
    )


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    outlook: Outlook

    @property
    def actual(self) -> Decimal:
        return self.outlook.actual

    @property
    def forecast(self) -> Forecast | None:
        return self.outlook.forecast

    @property
    def amount(self) -> Decimal:
        return self.budget.monthly_amount

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.actual

    @property
    def used(self) -> Decimal:
        return self.actual / self.amount

    @property
    def thresholds_crossed(self) -> list[int]:
        return [t for t in sorted(self.budget.thresholds) if self.actual * 100 >= self.amount * t]

    @property
    def forecast_over(self) -> bool:
        return self.forecast is not None and self.forecast.month_end > self.amount


def budget_status(*, budget: Budget, period: MonthPeriod) -> BudgetStatus:
    return BudgetStatus(
        budget=budget,
        outlook=outlook(
            period=period,
            team=budget.team if not budget.product_id else None,
            product=budget.product,
            include_allocated=budget.include_allocated,
        ),
    )


def _statuses(*, period: MonthPeriod, team_id: int | None, products: bool) -> list[BudgetStatus]:
    """Status of the budgets in force for a scope: the team's own (or the organisation's, with no
    team), or the team's products'."""
    return [
        budget_status(budget=budget, period=period)
        for budget in budgets_in_force(month=period.start)
        if budget.team_id == team_id and (budget.product_id is not None) == products
    ]


def team_budget_status(*, team: Team, period: MonthPeriod) -> BudgetStatus | None:
    found = _statuses(period=period, team_id=team.id, products=False)
    return found[0] if found else None


def product_budget_statuses(*, team: Team, period: MonthPeriod) -> list[BudgetStatus]:
    return _statuses(period=period, team_id=team.id, products=True)


def organisation_budget_status(*, period: MonthPeriod) -> BudgetStatus | None:
    found = _statuses(period=period, team_id=None, products=False)
    return found[0] if found else None


def provider_projection(*, today: date, months: int = 3) -> dict[str, list[tuple[date, Decimal]]]:
    """The organisation's spend per provider over the next months, for sizing a commitment."""
    rows = (
        DailyBreakdown.objects.filter(
            dimension="provider", day__gte=today - timedelta(days=HISTORY_DAYS + 1), day__lt=today
        )
        .values("value", "day")
        .annotate(cost=Sum("billed_cost"))
    )
    per_provider: dict[str, dict[date, Decimal]] = {}
    for r in rows:
        per_provider.setdefault(r["value"], {})[r["day"]] = r["cost"]
    return {p: monthly_projection(daily, today=today, months=months) for p, daily in sorted(per_provider.items())}


def anomalies_for(*, team: Team | None, since: date, until: date) -> list[Anomaly]:
    anomalies = Anomaly.objects.filter(day__gte=since, day__lte=until).select_related("team", "acknowledged_by")
    return list(anomalies.filter(team=team) if team else anomalies)
