"""Everything a team's page shows for a month, read in one place for the view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from apps.allocation.selectors import AllocationLine, CostRow
from apps.budgets.selectors import BudgetStatus, product_budget_statuses, team_budget_status
from apps.org.models import Team
from attribution_site.periods import MonthPeriod

from . import team as selectors
from .incidents import Incident, incidents_for
from .team import BreakdownRow, CustomerRow, Headline, TrendPoint, UnitEconomics

BREAKDOWN_DIMENSIONS = ("product", "feature", "model", "environment")


@dataclass(frozen=True)
class TeamPage:
    team: Team
    period: MonthPeriod
    headline: Headline
    budget: BudgetStatus | None
    product_budgets: list[BudgetStatus]
    anomalies: list[Incident]
    breakdowns: dict[str, list[BreakdownRow]]
    customers: list[CustomerRow]
    agents: list[BreakdownRow]
    unit: UnitEconomics
    allocations: list[AllocationLine]
    allocated_out: list[AllocationLine]  # a shared team's cost, by the team it went to
    trend: list[TrendPoint]
    monthly: list[CostRow]

    @property
    def trend_start(self) -> date:
        return self.period.end - timedelta(days=selectors.TREND_DAYS - 1)

    @property
    def unpriced(self) -> int:
        """Events of the month rated $0.00 for want of a price (the headline marks them)."""
        return sum(r.unpriced for r in self.breakdowns.get("model", []))

    @property
    def outlook(self):
        """The month's burn: against the budget's basis when there is one."""
        return self.budget.outlook if self.budget else self.headline.outlook


def team_page(*, team: Team, period: MonthPeriod) -> TeamPage:
    customer_spend = selectors.team_customer_spend(team=team, period=period)
    agents = selectors.team_breakdown(team=team, period=period, dimension="agent")
    return TeamPage(
        team=team,
        period=period,
        headline=selectors.team_headline(team=team, period=period),
        budget=team_budget_status(team=team, period=period),
        product_budgets=product_budget_statuses(team=team, period=period),
        anomalies=incidents_for(team=team, since=period.start, until=period.month_end),
        breakdowns={d: selectors.team_breakdown(team=team, period=period, dimension=d) for d in BREAKDOWN_DIMENSIONS},
        customers=selectors.team_customers(spend=customer_spend, period=period),
        agents=[r for r in agents if r.value],
        unit=selectors.team_unit_economics(team=team, period=period, customers=customer_spend),
        allocations=selectors.team_allocations(team=team, period=period),
        allocated_out=selectors.team_allocated_out(team=team, period=period),
        trend=selectors.team_trend(team=team, end=period.end),
        monthly=selectors.team_monthly(team=team, period=period),
    )
