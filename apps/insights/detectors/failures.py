"""Paid failures: spend on calls whose outcome was an error, by feature and key."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Sum

from apps.pricing.money import usd
from apps.usage.models import UsageEvent

from ..models import SavingsSettings
from ..repricing import monthly
from ..selectors import WINDOW_DAYS, window
from . import Finding, money_text


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
        saving = monthly(r["cost"], days=WINDOW_DAYS)
        if saving < config.min_monthly_saving:
            continue
        where = f"feature '{r['feature']}'" if r["feature"] else "untagged calls"
        findings.append(
            Finding(
                lever="paid_failures",
                team_id=r["team_id"],
                product_id=r["product_id"],
                feature=r["feature"],
                api_key_id=r["api_key_id"],
                monthly_saving=saving,
                sentence=(
                    f"{r['calls']} calls from {where} ended in an error but were paid for: {usd(r['cost'])} in "
                    f"{WINDOW_DAYS} days, {usd(saving)} a month."
                ),
                evidence={"days": WINDOW_DAYS, "failed_calls": r["calls"], "cost": money_text(r["cost"])},
            )
        )
    return findings
