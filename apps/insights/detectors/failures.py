"""Paid failures: spend on calls whose outcome was an error, by feature and key."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Sum

from apps.pricing.money import usd
from apps.usage.models import UsageEvent

from ..models import SavingsSettings
from ..selectors import WINDOW_DAYS, window
from . import SAVING, Finding, Scope, finding, money_text


def failures_detect(today: date, config: SavingsSettings) -> list[Finding]:
    start, end = window(today)
    rows = (
        UsageEvent.objects.filter(day__gte=start, day__lte=end, team__isnull=False)
        .exclude(outcome="success")
        .values("team_id", "product_id", "feature", "api_key_id")
        .annotate(calls=Count("id"), cost=Sum("billed_cost"))
        .order_by()
    )
    findings = []
    for r in rows:
        scope = Scope(r["team_id"], r["product_id"], r["feature"], api_key_id=r["api_key_id"])
        findings.append(
            finding(
                lever="paid_failures",
                scope=scope,
                saving=r["cost"],
                config=config,
                sentence=(
                    f"{r['calls']} calls from {scope.words} ended in an error but were "
                    f"paid for: {usd(r['cost'])} in {WINDOW_DAYS} days, {SAVING} a month."
                ),
                evidence={"failed_calls": r["calls"], "cost": money_text(r["cost"])},
            )
        )
    return [f for f in findings if f]
