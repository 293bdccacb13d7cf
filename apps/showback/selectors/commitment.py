"""The negotiation brief for a provider commitment: a year of consumption by model family, a
12-month forecast with a band, the savings that would come off it, and the commitment it supports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from apps.insights.combining import combined_savings
from apps.pricing.money import CENT, ZERO
from apps.rollups.models import DailyRollup

HISTORY_MONTHS = 12
RUN_RATE_MONTHS = 3  # the forecast's level: the last three complete months' average
BAND_MONTHS = 6  # the band's width: how far the last six months strayed from their average
MIN_BAND = Decimal("0.10")


@dataclass(frozen=True)
class FamilyHistory:
    family: str
    months: list[Decimal]  # one a month, oldest first, as `Brief.months`
    trend: Decimal | None  # last three months against the three before

    @property
    def total(self) -> Decimal:
        return sum(self.months, ZERO)


@dataclass(frozen=True)
class Brief:
    provider: str
    months: list[date]  # the twelve complete months before today's
    families: list[FamilyHistory]
    monthly_totals: list[Decimal]
    forecast_months: list[date]
    forecast: Decimal  # a month, at the run rate
    band: Decimal  # ± share
    savings: Decimal  # a month, the open and accepted savings on this provider's spend (combined)

    @property
    def low(self) -> Decimal:
        return max(self.forecast * (1 - self.band), ZERO).quantize(CENT, ROUND_HALF_EVEN)

    @property
    def high(self) -> Decimal:
        return (self.forecast * (1 + self.band)).quantize(CENT, ROUND_HALF_EVEN)

    @property
    def year_forecast(self) -> Decimal:
        return self.forecast * len(self.forecast_months)

    @property
    def year_savings(self) -> Decimal:
        return self.savings * len(self.forecast_months)

    @property
    def commitment(self) -> Decimal:
        """The rule: the band's low edge over the year, less the savings expected over it."""
        return max(self.low * len(self.forecast_months) - self.year_savings, ZERO).quantize(CENT, ROUND_HALF_EVEN)

    @property
    def outside(self) -> Decimal:
        """The forecast year's spend above the commitment, bought at on-demand prices."""
        return max(self.year_forecast - self.commitment, ZERO).quantize(CENT, ROUND_HALF_EVEN)


def _month_starts(today: date, count: int) -> list[date]:
    months, month = [], today.replace(day=1)
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


def _next_months(today: date, count: int) -> list[date]:
    months, month = [], today.replace(day=1)
    for _ in range(count):
        month = (month + timedelta(days=32)).replace(day=1)
        months.append(month)
    return months


def _trend(values: list[Decimal]) -> Decimal | None:
    recent, before = sum(values[-3:], ZERO), sum(values[-6:-3], ZERO)
    return (recent - before) / before if before else None


def providers_with_spend(*, today: date) -> list[str]:
    start = _month_starts(today, HISTORY_MONTHS)[0]
    rows = DailyRollup.objects.filter(day__gte=start, day__lt=today.replace(day=1), billed_cost__gt=0)
    return sorted(rows.values_list("provider", flat=True).distinct())


def negotiation_brief(*, provider: str, today: date) -> Brief:
    months = _month_starts(today, HISTORY_MONTHS)
    rows = (
        DailyRollup.objects.filter(provider=provider, day__gte=months[0], day__lt=today.replace(day=1))
        .annotate(month=TruncMonth("day"))
        .values("month", "model_family")
        .annotate(cost=Sum("billed_cost"))
        .order_by()
    )
    by_family: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for r in rows:
        month = r["month"] if isinstance(r["month"], date) else date.fromisoformat(str(r["month"])[:10])
        by_family[r["model_family"] or "(unknown)"][month] = r["cost"]
    families = sorted(
        (
            FamilyHistory(family, series := [spend.get(m, ZERO) for m in months], _trend(series))
            for family, spend in by_family.items()
        ),
        key=lambda f: (-f.total, f.family),
    )
    totals = [sum((f.months[i] for f in families), ZERO) for i in range(len(months))]
    # Months before the provider's first spend say nothing about its level or how it varies.
    active = totals[next((i for i, t in enumerate(totals) if t), len(totals)) :] or [ZERO]
    recent = active[-RUN_RATE_MONTHS:]
    forecast = (sum(recent, ZERO) / len(recent)).quantize(CENT, ROUND_HALF_EVEN)
    window = active[-BAND_MONTHS:]
    mean = sum(window, ZERO) / len(window)
    spread = (max(window) - min(window)) / (2 * mean) if mean else ZERO
    band = max(MIN_BAND, spread).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    savings = sum(
        (s.saving for row in combined_savings(today=today) for s in row.steps if s.opportunity.provider == provider),
        ZERO,
    ).quantize(CENT, ROUND_HALF_EVEN)
    return Brief(
        provider=provider,
        months=months,
        families=families,
        monthly_totals=totals,
        forecast_months=_next_months(today, 12),
        forecast=forecast,
        band=band,
        savings=savings,
    )
