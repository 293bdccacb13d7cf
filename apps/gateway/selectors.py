"""Reads for the gateway: the hard-limit budgets in force this month and how complete the rollups are,
and what the model rules refused, warned about or clamped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Min, Sum
from django.utils import timezone

from apps.budgets.selectors import budget_status, budgets_in_force
from apps.pricing.money import usd
from apps.usage.models import DirtyMark
from attribution_site.periods import MonthPeriod

from .models import ModelRuleHit

Scope = tuple[str, int | None]  # ("team", id) | ("product", id) | ("organisation", None)


@dataclass(frozen=True)
class HardLimit:
    """A budget marked hard limit: what it allows this month and what the rollups show spent."""

    scope: Scope
    month: str  # "2026-12": the counters of a new month start afresh
    label: str  # the budget's scope as the pages name it
    amount: Decimal
    rolled_up: Decimal

    def refusal(self, spent: Decimal) -> str | None:
        """Why a call drawing on this budget is refused once `spent` reaches the amount, else None."""
        if spent < self.amount:
            return None
        return f"The {self.month} budget of {self.label} (hard limit) is spent: {usd(spent)} of {usd(self.amount)}."


@dataclass(frozen=True)
class HardLimits:
    limits: dict[Scope, HardLimit]
    # Events stored before this instant are in the rollups' figures; later ones may not be yet.
    complete_until: datetime

    def drawn_on(self, *, product_id: int | None, team_id: int | None) -> list[HardLimit]:
        """The hard limits a call of this product, charged to this team, draws on."""
        if not self.limits:
            return []
        scopes = (("product", product_id), ("team", team_id), ("organisation", None))
        return [self.limits[scope] for scope in scopes if scope in self.limits]


def hard_limits_in_force(*, today: date) -> HardLimits:
    """Each budget marked hard limit with the rollups' spend of its month, and the instant up to
    which that spend is complete: the oldest dirty mark of the month still waiting for a rebuild,
    else now. The marks are read before the rollups, so a rebuild in between can only make the
    figures more complete than `complete_until` says (spend counted twice for a moment, never missed)."""
    period = MonthPeriod.parse(None, today=today)
    now = timezone.now()
    oldest_mark = DirtyMark.objects.filter(day__gte=period.start, day__lte=period.end).aggregate(
        oldest=Min("marked_at")
    )["oldest"]
    limits: dict[Scope, HardLimit] = {}
    for budget in budgets_in_force(month=period.start):
        if not budget.hard_limit:
            continue
        if budget.product_id:
            scope: Scope = ("product", budget.product_id)
        elif budget.team_id:
            scope = ("team", budget.team_id)
        else:
            scope = ("organisation", None)
        status = budget_status(budget=budget, period=period)
        limits[scope] = HardLimit(
            scope=scope, month=period.key, label=budget.scope_label, amount=status.amount, rolled_up=status.actual
        )
    return HardLimits(limits=limits, complete_until=min(oldest_mark, now) if oldest_mark else now)


def hard_limits_exhausted(*, today: date) -> dict[Scope, str]:
    """{scope: why} for each budget marked hard limit whose month's spend, as the rollups show
    it, has reached its amount."""
    exhausted: dict[Scope, str] = {}
    for limit in hard_limits_in_force(today=today).limits.values():
        refusal = limit.refusal(limit.rolled_up)
        if refusal:
            exhausted[limit.scope] = refusal
    return exhausted


@dataclass(frozen=True)
class ModelRuleCount:
    """A model rule's hits on a team's calls over a period."""

    rule: str
    mode: str
    refused: int
    warned: int
    clamped: int


def team_model_rule_counts(*, team_id: int, start: date, end: date) -> list[ModelRuleCount]:
    """Per rule, how many of the team's calls it refused, warned about and clamped between two days."""
    rows = (
        ModelRuleHit.objects.filter(team_id=team_id, day__gte=start, day__lte=end)
        .values("rule__name", "rule__mode", "outcome")
        .annotate(calls=Sum("count"))
    )
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        counts.setdefault((row["rule__name"], row["rule__mode"]), {})[row["outcome"]] = row["calls"]
    return [
        ModelRuleCount(
            rule=name,
            mode=mode,
            refused=by.get(ModelRuleHit.Outcome.REFUSED, 0),
            warned=by.get(ModelRuleHit.Outcome.WARNED, 0),
            clamped=by.get(ModelRuleHit.Outcome.CLAMPED, 0),
        )
        for (name, mode), by in sorted(counts.items())
    ]
