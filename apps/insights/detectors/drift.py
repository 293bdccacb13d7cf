"""Unit-cost drift: a feature's cost per request up month over month (28 days against the 28 before)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ..models import SavingsSettings
from ..repricing import monthly
from ..selectors import WINDOW_DAYS, rollup_spend, window
from . import Finding, money_text, usd

BY = ["team_id", "product_id", "feature"]


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
        saving = monthly((unit_now - unit_then) * r["requests"], days=WINDOW_DAYS)
        if saving < config.min_monthly_saving:
            continue
        rise = ((unit_now / unit_then - 1) * 100).quantize(Decimal("1"))
        where = f"Feature '{r['feature']}'" if r["feature"] else "Untagged calls"
        findings.append(
            Finding(
                lever="unit_cost_drift",
                team_id=r["team_id"],
                product_id=r["product_id"],
                feature=r["feature"],
                monthly_saving=saving,
                sentence=(
                    f"{where} now costs {usd(unit_now, places=4)} a request against {usd(unit_then, places=4)} "
                    f"the {WINDOW_DAYS} days before (+{rise}%); back at the old unit cost it would spend "
                    f"{usd(saving)} a month less."
                ),
                evidence={
                    "days": WINDOW_DAYS,
                    "cost": money_text(r["cost"]),
                    "requests": r["requests"],
                    "cost_before": money_text(was["cost"]),
                    "requests_before": was["requests"],
                },
            )
        )
    return findings
