"""What a team's page shows: spend, breakdowns, trend, unit economics and its allocations.

Everything here reads rollups and allocation results, never raw events, so a page costs the
same with ten thousand events or ten million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from apps.allocation.models import AllocationResult
from apps.allocation.selectors import AllocationLine, CostRow, allocation_lines, costs_report
from apps.budgets.selectors import Outlook, outlook
from apps.org.models import CustomerAccount, Team
from apps.rollups.models import DailyRollup

from ..periods import MonthPeriod

ZERO = Decimal("0E-9")
TREND_DAYS = 90
TOP_CUSTOMERS = 20


def spend(*, team_ids: list[int] | None, start: date, end: date) -> CostRow:
    """Direct + allocated in − allocated out for the teams (None: the organisation)."""
    return costs_report(start=start, end=end, group_by=[], filters={}, team_ids=team_ids).total


@dataclass(frozen=True)
class Headline:
    spend: CostRow
    previous: CostRow
    outlook: Outlook  # the forecast of the month's total (direct + allocated)
    cache_savings: Decimal
    untagged_from_keys: Decimal

    @property
    def projected(self) -> Decimal:
        return self.outlook.forecast.month_end if self.outlook.forecast else self.spend.total

    @property
    def change(self) -> Decimal | None:
        """Relative change against the same days of last month; None when last month had nothing."""
        if not self.previous.total:
            return None
        return (self.spend.total - self.previous.total) / self.previous.total


def team_headline(*, team: Team, period: MonthPeriod, today: date) -> Headline:
    current = spend(team_ids=[team.id], start=period.start, end=period.end)
    prev_start, prev_end = period.previous_same_days()
    previous = spend(team_ids=[team.id], start=prev_start, end=prev_end)
    rollups = DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end)
    savings = rollups.filter(team=team).aggregate(s=Sum("cache_savings"))["s"] or ZERO
    untagged = (
        rollups.filter(api_key__team=team)
        .filter(Q(team__isnull=True) | ~Q(missing_tags=""))
        .aggregate(s=Sum("billed_cost"))["s"]
        or ZERO
    )
    return Headline(
        spend=current,
        previous=previous,
        outlook=outlook(month_start=period.start, month_end=period.month_end, today=today, team=team),
        cache_savings=savings,
        untagged_from_keys=untagged,
    )


@dataclass(frozen=True)
class BreakdownRow:
    label: str
    cost: Decimal
    requests: int
    tokens: int
    traces: int = 0
    is_production: bool = True

    @property
    def cost_per_request(self) -> Decimal | None:
        return self.cost / self.requests if self.requests else None

    @property
    def cost_per_trace(self) -> Decimal | None:
        return self.cost / self.traces if self.traces else None


# dimension → (rollup field, label when empty)
DIMENSIONS = {
    "product": ("product__name", "(no product)"),
    "feature": ("feature", "(no feature)"),
    "model": ("model", ""),
    "environment": ("environment__slug", "(no environment)"),
    "customer": ("customer", "(no customer)"),
    "agent": ("agent", "(no agent)"),
}


def team_breakdown(*, team: Team, period: MonthPeriod, dimension: str, limit: int | None = None) -> list[BreakdownRow]:
    field, empty = DIMENSIONS[dimension]
    rows = (
        DailyRollup.objects.filter(team=team, day__gte=period.start, day__lte=period.end)
        .values(field)
        .annotate(
            cost=Sum("billed_cost"),
            n=Sum("requests"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
            traces=Sum("traces"),
            production=Count("id", filter=Q(environment__is_production=True)),
        )
        .order_by("-cost")
    )
    if limit:
        rows = rows[:limit]
    return [
        BreakdownRow(
            label=r[field] or empty,
            cost=r["cost"],
            requests=r["n"],
            tokens=r["tokens"],
            traces=r["traces"],
            is_production=bool(r["production"]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CustomerRow:
    customer: str
    name: str
    tier: str
    cost: Decimal
    requests: int
    revenue: Decimal | None

    @property
    def cost_per_request(self) -> Decimal | None:
        return self.cost / self.requests if self.requests else None

    @property
    def margin(self) -> Decimal | None:
        """Revenue minus this team's AI cost of serving the customer, as a share of revenue."""
        if not self.revenue:
            return None
        return (self.revenue - self.cost) / self.revenue


def team_customers(*, team: Team, period: MonthPeriod) -> list[CustomerRow]:
    rows = team_breakdown(team=team, period=period, dimension="customer", limit=TOP_CUSTOMERS + 1)
    rows = [r for r in rows if r.label != DIMENSIONS["customer"][1]][:TOP_CUSTOMERS]
    accounts = CustomerAccount.objects.in_bulk([r.label for r in rows], field_name="external_id")
    # Revenue is monthly: a month still running is compared with the revenue earned so far.
    fraction = Decimal(period.days_elapsed) / Decimal(period.days_in_month)
    result = []
    for r in rows:
        account = accounts.get(r.label)
        revenue = account.monthly_revenue * fraction if account and account.monthly_revenue else None
        result.append(
            CustomerRow(
                customer=r.label,
                name=account.name if account else "",
                tier=account.tier if account else "",
                cost=r.cost,
                requests=r.requests,
                revenue=revenue,
            )
        )
    return result


@dataclass(frozen=True)
class UnitEconomics:
    cost_per_request: Decimal | None
    cost_per_1k_tokens: Decimal | None
    cost_per_active_customer: Decimal | None
    cost_per_agent_task: Decimal | None
    active_customers: int
    agent_tasks: int


def team_unit_economics(*, team: Team, period: MonthPeriod) -> UnitEconomics:
    """Unit costs on the team's direct spend (what its own traffic cost, before shared costs)."""
    rollups = DailyRollup.objects.filter(team=team, day__gte=period.start, day__lte=period.end)
    totals = rollups.aggregate(
        cost=Sum("billed_cost"),
        n=Sum("requests"),
        tokens=Sum(F("input_tokens") + F("output_tokens")),
        customers=Count("customer", distinct=True, filter=~Q(customer="")),
    )
    agents = rollups.exclude(agent="").aggregate(cost=Sum("billed_cost"), traces=Sum("traces"))
    customer_cost = rollups.exclude(customer="").aggregate(cost=Sum("billed_cost"))["cost"]
    cost = totals["cost"] or ZERO

    def per(amount, count, scale=1):
        return amount / count * scale if amount is not None and count else None

    return UnitEconomics(
        cost_per_request=per(cost, totals["n"]),
        cost_per_1k_tokens=per(cost, totals["tokens"], 1000),
        cost_per_active_customer=per(customer_cost, totals["customers"]),
        cost_per_agent_task=per(agents["cost"], agents["traces"]),
        active_customers=totals["customers"] or 0,
        agent_tasks=agents["traces"] or 0,
    )


@dataclass(frozen=True)
class TrendPoint:
    day: date
    series: str
    cost: Decimal


def team_trend(*, team: Team, end: date, days: int = TREND_DAYS) -> list[TrendPoint]:
    """Daily spend per product for the last `days` days, with allocated shared cost as one series."""
    start = end - timedelta(days=days - 1)
    direct = (
        DailyRollup.objects.filter(team=team, day__gte=start, day__lte=end)
        .values("day", "product__name")
        .annotate(cost=Sum("billed_cost"))
    )
    points = [TrendPoint(r["day"], r["product__name"] or "(no product)", r["cost"]) for r in direct]
    allocated = (
        AllocationResult.objects.filter(team=team, day__gte=start, day__lte=end)
        .values("day")
        .annotate(cost=Sum("amount"))
    )
    points += [TrendPoint(r["day"], "Shared costs (allocated)", r["cost"]) for r in allocated]
    return sorted(points, key=lambda p: (p.day, p.series))


def team_monthly(*, team: Team, period: MonthPeriod, months: int = 6) -> list[CostRow]:
    """Total spend per month for the last `months` months up to the page's month."""
    report = costs_report(
        start=period.months_back(months), end=period.end, group_by=["month"], filters={}, team_ids=[team.id]
    )
    return sorted(report.rows, key=lambda r: r.key["month"])


def team_allocations(*, team: Team, period: MonthPeriod) -> list[AllocationLine]:
    return allocation_lines(start=period.start, end=period.end, team_ids=[team.id])


@dataclass(frozen=True)
class StatementLine:
    kind: str  # "direct", "allocated in", "allocated out"
    product: str
    model: str
    environment: str
    rule: str
    requests: int
    input_tokens: int
    output_tokens: int
    list_cost: Decimal | None  # None on allocation lines: shared costs have no list price
    amount: Decimal


def team_statement(*, team: Team, period: MonthPeriod) -> list[StatementLine]:
    """The month's showback statement: direct spend per product × model × environment, then each
    allocation in (and, for a shared team, out). Its amounts sum to the page's total."""
    direct = (
        DailyRollup.objects.filter(team=team, day__gte=period.start, day__lte=period.end)
        .values("product__slug", "model", "environment__slug")
        .annotate(
            n=Sum("requests"),
            inp=Sum("input_tokens"),
            out=Sum("output_tokens"),
            lst=Sum("list_cost"),
            cost=Sum("billed_cost"),
        )
        .order_by("product__slug", "model", "environment__slug")
    )
    lines = [
        StatementLine(
            "direct",
            r["product__slug"] or "",
            r["model"],
            r["environment__slug"] or "",
            "",
            r["n"],
            r["inp"],
            r["out"],
            r["lst"],
            r["cost"],
        )
        for r in direct
    ]
    results = AllocationResult.objects.filter(day__gte=period.start, day__lte=period.end)
    for kind, rows, sign in (
        ("allocated in", results.filter(team=team), 1),
        ("allocated out", results.filter(source_team=team), -1),
    ):
        for r in rows.values("rule__name").annotate(cost=Sum("amount")).order_by("rule__name"):
            lines.append(StatementLine(kind, "", "", "", r["rule__name"], 0, 0, 0, None, sign * r["cost"]))
    return lines
