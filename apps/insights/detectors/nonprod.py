"""Non-production spend: development and staging above a share of production, and keys with
traffic but no production use."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q

from apps.pricing.money import usd

from ..models import SavingsSettings
from ..repricing import monthly
from ..selectors import WINDOW_DAYS, rollup_spend, window
from . import Finding, money_text


def nonprod_detect(today: date, config: SavingsSettings) -> list[Finding]:
    start, end = window(today)
    tagged = Q(environment__isnull=False)
    rows = rollup_spend(start=start, end=end, by=["team_id", "api_key_id", "environment__is_production"], where=tagged)
    teams: dict[int, dict[bool, Decimal]] = defaultdict(lambda: {True: Decimal(0), False: Decimal(0)})
    keys: dict[tuple[int, int], dict[bool, Decimal]] = defaultdict(lambda: {True: Decimal(0), False: Decimal(0)})
    for r in rows:
        teams[r["team_id"]][r["environment__is_production"]] += r["cost"]
        keys[(r["team_id"], r["api_key_id"])][r["environment__is_production"]] += r["cost"]
    findings = []
    for team_id, spend in teams.items():
        allowed = spend[True] * config.nonprod_max_share
        saving = monthly(spend[False] - allowed, days=WINDOW_DAYS)
        if spend[False] <= allowed or saving < config.min_monthly_saving:
            continue
        findings.append(
            Finding(
                lever="nonprod",
                team_id=team_id,
                monthly_saving=saving,
                sentence=(
                    f"Development and staging cost {usd(spend[False])} in {WINDOW_DAYS} days against "
                    f"{usd(spend[True])} in production, above the {config.nonprod_max_share * 100:.0f}% allowed; "
                    f"the excess is {usd(saving)} a month."
                ),
                evidence={
                    "days": WINDOW_DAYS,
                    "non_production_cost": money_text(spend[False]),
                    "production_cost": money_text(spend[True]),
                    "max_share": str(config.nonprod_max_share),
                },
            )
        )
    for (team_id, key_id), spend in keys.items():
        saving = monthly(spend[False], days=WINDOW_DAYS)
        if spend[True] or saving < config.min_monthly_saving:
            continue
        findings.append(
            Finding(
                lever="nonprod",
                team_id=team_id,
                api_key_id=key_id,
                monthly_saving=saving,
                extra_key="key",
                sentence=(
                    f"An API key spent {usd(spend[False])} in {WINDOW_DAYS} days with no production traffic at "
                    f"all: a test harness left running? Stopping it saves {usd(saving)} a month."
                ),
                evidence={"days": WINDOW_DAYS, "non_production_cost": money_text(spend[False])},
            )
        )
    return findings
