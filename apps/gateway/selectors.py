"""Reads for the gateway: the hard-limit budgets already spent this month."""

from __future__ import annotations

from datetime import date

from apps.budgets.selectors import budget_status, budgets_in_force
from apps.pricing.money import usd
from attribution_site.periods import MonthPeriod


def hard_limits_exhausted(*, today: date) -> dict[tuple[str, int | None], str]:
    """{("team", id) | ("product", id) | ("organisation", None): why} for each budget marked hard
    limit whose month's spend has reached its amount."""
    period = MonthPeriod.parse(None, today=today)
    exhausted: dict[tuple[str, int | None], str] = {}
    for budget in budgets_in_force(month=period.start):
        if not budget.hard_limit:
            continue
        status = budget_status(budget=budget, period=period)
        if status.actual < status.amount:
            continue
        if budget.product_id:
            scope = ("product", budget.product_id)
        elif budget.team_id:
            scope = ("team", budget.team_id)
        else:
            scope = ("organisation", None)
        exhausted[scope] = (
            f"The {period.key} budget of {budget.scope_label} (hard limit) is spent: "
            f"{usd(status.actual)} of {usd(status.amount)}."
        )
    return exhausted
