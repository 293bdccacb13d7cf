"""Late events of closed months, booked in the month shown: its adjustment lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from apps.org.models import Team
from apps.rollups.models import DailyBreakdown
from attribution_site.periods import MonthPeriod


@dataclass(frozen=True)
class Adjustment:
    """Spend of `adjusts` (a closed month) that arrived late and is counted in the month shown."""

    adjusts: date
    cost: Decimal
    requests: int


def month_adjustments(*, period: MonthPeriod, team: Team | None = None) -> list[Adjustment]:
    """The month's adjustment lines, oldest adjusted month first: the team's, or (None) every team's."""
    rows = DailyBreakdown.objects.filter(
        dimension=DailyBreakdown.Dimension.ADJUSTMENT, day__gte=period.start, day__lte=period.end
    ).exclude(value="")
    if team is not None:
        rows = rows.filter(team=team)
    sums = rows.values("value").annotate(cost=Sum("billed_cost"), n=Sum("requests")).order_by("value")
    return [Adjustment(date.fromisoformat(f"{r['value']}-01"), r["cost"], r["n"]) for r in sums]
