"""Unit-cost drift: a feature's cost per request, or a team's cost per customer, up month over month
(28 days against the 28 before)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Sum

from apps.pricing.money import usd
from apps.rollups.models import DailyRollup

from ..models import SavingsSettings
from ..selectors import WINDOW_DAYS, rollup_spend, window
from . import SAVING, Finding, Scope, finding, money_text

BY = ["team_id", "product_id", "feature"]
MIN_CUSTOMERS = 5  # fewer and one customer's month moves the average on its own


def drift_detect(today: date, config: SavingsSettings) -> list[Finding]:
    start, end = window(today)
    before = {
        tuple(r[k] for k in BY): r
        for r in rollup_spend(start=start - timedelta(days=WINDOW_DAYS), end=start - timedelta(days=1), by=BY)
    }
    findings = []
    for r in rollup_spend(start=start, end=end, by=BY):
        was = before.get(tuple(r[k] for k in BY))
        if not was or not was["requests"] or not r["requests"] or r["requests"] < config.min_calls:
            continue
        unit_then = was["cost"] / was["requests"]
        unit_now = r["cost"] / r["requests"]
        if unit_then <= 0 or unit_now <= unit_then * (1 + config.drift_percent / 100):
            continue
        rise = ((unit_now / unit_then - 1) * 100).quantize(Decimal("1"))
        scope = Scope(r["team_id"], r["product_id"], r["feature"])
        findings.append(
            finding(
                lever="unit_cost_drift",
                scope=scope,
                saving=(unit_now - unit_then) * r["requests"],
                config=config,
                sentence=(
                    f"{scope.subject} now costs {usd(unit_now, places=4)} a request against "
                    f"{usd(unit_then, places=4)} the {WINDOW_DAYS} days before (+{rise}%); back at the old unit cost "
                    f"it would spend {SAVING} a month less."
                ),
                evidence={
                    "cost": money_text(r["cost"]),
                    "requests": r["requests"],
                    "cost_before": money_text(was["cost"]),
                    "requests_before": was["requests"],
                },
            )
        )
    return [f for f in findings if f]


def _customer_spend(start: date, end: date) -> dict[int, tuple[Decimal, int]]:
    """Per team: the billed cost of customer-tagged calls and the number of customers behind it."""
    rows = (
        DailyRollup.objects.filter(day__gte=start, day__lte=end, team__isnull=False)
        .exclude(customer="")
        .values("team_id")
        .annotate(cost=Sum("billed_cost"), customers=Count("customer", distinct=True))
        .order_by()
    )
    return {r["team_id"]: (r["cost"], r["customers"]) for r in rows}


def customer_drift_detect(today: date, config: SavingsSettings) -> list[Finding]:
    """A team's cost per customer served up month over month."""
    start, end = window(today)
    before = _customer_spend(start - timedelta(days=WINDOW_DAYS), start - timedelta(days=1))
    findings = []
    for team_id, (cost, customers) in _customer_spend(start, end).items():
        if team_id not in before or not before[team_id][1] or customers < MIN_CUSTOMERS:
            continue
        unit_then, unit_now = before[team_id][0] / before[team_id][1], cost / customers
        if unit_then <= 0 or unit_now <= unit_then * (1 + config.drift_percent / 100):
            continue
        rise = ((unit_now / unit_then - 1) * 100).quantize(Decimal("1"))
        findings.append(
            finding(
                lever="unit_cost_drift",
                scope=Scope(team_id, extra_key="customer"),
                saving=(unit_now - unit_then) * customers,
                config=config,
                sentence=(
                    f"Each customer now costs {usd(unit_now, places=4)} against {usd(unit_then, places=4)} the "
                    f"{WINDOW_DAYS} days before (+{rise}%); back at the old cost per customer the {customers} "
                    f"customers would cost {SAVING} a month less."
                ),
                evidence={
                    "cost": money_text(cost),
                    "customers": customers,
                    "cost_before": money_text(before[team_id][0]),
                    "customers_before": before[team_id][1],
                },
            )
        )
    return [f for f in findings if f]
