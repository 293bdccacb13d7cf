"""Reads for the gateway: the hard-limit budgets already spent this month."""

from __future__ import annotations

from datetime import date, timedelta

from apps.budgets.selectors import budget_status, budgets_in_force


def hard_limits_exhausted(*, today: date) -> dict[tuple[str, int | None], str]:
    """{("team", id) | ("product", id) | ("organisation", None): why} for each budget marked hard
    limit whose month's spend has reached its amount."""
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    exhausted: dict[tuple[str, int | None], str] = {}
    for budget in budgets_in_force(month=month_start):
        if not budget.hard_limit:
            continue
        status = budget_status(budget=budget, month_start=month_start, month_end=month_end, today=today)
        if status.actual < status.amount:
            continue
        if budget.product_id:
            scope = ("product", budget.product_id)
        elif budget.team_id:
            scope = ("team", budget.team_id)
        else:
            scope = ("organisation", None)
        exhausted[scope] = (
            f"The {month_start:%Y-%m} budget of {budget.scope_label} (hard limit) is spent: "
            f"${status.actual:.2f} of ${status.amount:.2f}."
        )
    return exhausted
