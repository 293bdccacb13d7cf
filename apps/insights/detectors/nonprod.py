"""Non-production spend: development and staging above a share of production, and keys with
traffic but no production use."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q

from apps.pricing.money import usd

from ..models import SavingsSettings
from ..selectors import WINDOW_DAYS, rollup_spend, window
from . import SAVING, Finding, Scope, finding, money_text


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
        if spend[False] <= allowed:
            continue
        findings.append(
            finding(
                lever="nonprod",
                scope=Scope(team_id),
                saving=spend[False] - allowed,
                config=config,
                sentence=(
                    f"Development and staging cost {usd(spend[False])} in {WINDOW_DAYS} days against "
                    f"{usd(spend[True])} in production, above the {config.nonprod_max_share * 100:.0f}% allowed; "
                    f"the excess is {SAVING} a month."
                ),
                evidence={
                    "non_production_cost": money_text(spend[False]),
                    "production_cost": money_text(spend[True]),
                    "max_share": str(config.nonprod_max_share),
                },
            )
        )
    for (team_id, key_id), spend in keys.items():
        if spend[True]:
            continue
        findings.append(
            finding(
                lever="nonprod",
                scope=Scope(team_id, api_key_id=key_id, extra_key="key"),
                saving=spend[False],
                config=config,
                sentence=(
                    f"An API key spent {usd(spend[False])} in {WINDOW_DAYS} days with no production traffic at "
                    f"all: a test harness left running? Stopping it saves {SAVING} a month."
                ),
                evidence={"non_production_cost": money_text(spend[False])},
            )
        )
    return [f for f in findings if f]
