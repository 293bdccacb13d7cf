"""What a team's page shows: spend, breakdowns, trend, unit economics and its allocations.

Everything here reads rollups and allocation results, never raw events, so a page costs the
same with ten thousand events or ten million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum

from apps.allocation.models import AllocationResult
from apps.allocation.selectors import AllocationLine, CostRow, allocation_lines, costs_report
from apps.budgets.selectors import Outlook, outlook
from apps.org.models import CustomerAccount, Environment, Product, Team
from apps.pricing.fields import from_nanos
from apps.pricing.money import ZERO
from apps.rollups.models import GAPS, DailyBreakdown, DailyRollup
from attribution_site.periods import MonthPeriod

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


def team_headline(*, team: Team, period: MonthPeriod) -> Headline:
    current = spend(team_ids=[team.id], start=period.start, end=period.end)
    prev_start, prev_end = period.previous_same_days()
    previous = spend(team_ids=[team.id], start=prev_start, end=prev_end)
    savings = _breakdown(team=team, dimension="total", start=period.start, end=period.end).aggregate(
        s=Sum("cache_savings")
    )["s"]
    untagged = (
        DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end, api_key__team=team)
        .filter(GAPS)
        .aggregate(s=Sum("billed_cost"))["s"]
    )
    return Headline(
        spend=current,
        previous=previous,
        outlook=outlook(period=period, team=team),
        cache_savings=savings or ZERO,
        untagged_from_keys=untagged or ZERO,
    )


@dataclass(frozen=True)
class BreakdownRow:
    value: str  # as tagged; '' for spend without the tag
    label: str
    cost: Decimal
    requests: int
    tokens: int
    traces: int = 0
    is_production: bool = True
    unpriced: int = 0  # events of a model with no price among `requests`: rated $0.00, marked on the page

    @property
    def cost_per_request(self) -> Decimal | None:
        return self.cost / self.requests if self.requests else None

    @property
    def cost_per_trace(self) -> Decimal | None:
        return self.cost / self.traces if self.traces else None


# dimension → its label when a row has no value
DIMENSIONS = {
    "product": "(no product)",
    "feature": "(no feature)",
    "model": "",
    "environment": "(no environment)",
    "customer": "(no customer)",
    "agent": "(no agent)",
}


def _breakdown(*, team: Team, dimension: str, start: date, end: date):
    return DailyBreakdown.objects.filter(team=team, dimension=dimension, day__gte=start, day__lte=end)


def _product_names() -> dict[str, str]:
    return dict(Product.objects.values_list("slug", "name"))


def team_breakdown(*, team: Team, period: MonthPeriod, dimension: str, limit: int | None = None) -> list[BreakdownRow]:
    rows = (
        _breakdown(team=team, dimension=dimension, start=period.start, end=period.end)
        .values("value")
        .annotate(
            cost=Sum("billed_cost"),
            n=Sum("requests"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
            traces=Sum("traces"),
            unpriced=Sum("unpriced"),
        )
        .order_by("-cost", "value")
    )
    if limit:
        rows = rows[:limit]
    names = _product_names() if dimension == "product" else {}
    production = (
        set(Environment.objects.filter(is_production=True).values_list("slug", flat=True))
        if dimension == "environment"
        else set()
    )
    return [
        BreakdownRow(
            value=r["value"],
            label=names.get(r["value"], r["value"]) or DIMENSIONS[dimension],
            cost=r["cost"],
            requests=r["n"],
            tokens=r["tokens"],
            traces=r["traces"],
            is_production=dimension != "environment" or r["value"] in production,
            unpriced=r["unpriced"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CustomerSpend:
    top: list[BreakdownRow]  # the largest customers, largest first
    active: int  # customers with any spend in the period
    cost: Decimal  # spend tagged with a customer


def team_customer_spend(*, team: Team, period: MonthPeriod, limit: int = TOP_CUSTOMERS) -> CustomerSpend:
    """The top customers and the totals over all of them, in one pass over the breakdown: a large
    team serves thousands of customers, and only twenty are shown."""
    table = DailyBreakdown._meta.db_table
    sql = (
        f"SELECT value, SUM(billed_cost), SUM(requests), SUM(input_tokens + output_tokens), "
        f"COUNT(*) OVER (), SUM(SUM(billed_cost)) OVER () FROM {table} "
        f"WHERE team_id = %s AND dimension = 'customer' AND value <> '' AND day >= %s AND day <= %s "
        f"GROUP BY value ORDER BY 2 DESC, value LIMIT %s"
    )
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [team.id, adapt(period.start), adapt(period.end), limit])
        rows = cursor.fetchall()
    top = [
        BreakdownRow(value, value, from_nanos(cost), requests, tokens) for value, cost, requests, tokens, _, _ in rows
    ]
    return CustomerSpend(top=top, active=rows[0][4] if rows else 0, cost=from_nanos(rows[0][5]) if rows else ZERO)


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


def team_customers(*, spend: CustomerSpend, period: MonthPeriod) -> list[CustomerRow]:
    """The team's top customers with their accounts' revenue, for margins."""
    rows = spend.top
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


def team_unit_economics(*, team: Team, period: MonthPeriod, customers: CustomerSpend) -> UnitEconomics:
    """Unit costs on the team's direct spend (what its own traffic cost, before shared costs)."""

    def rows(dimension: str):
        return _breakdown(team=team, dimension=dimension, start=period.start, end=period.end)

    totals = rows("total").aggregate(
        cost=Sum("billed_cost"), n=Sum("requests"), tokens=Sum(F("input_tokens") + F("output_tokens"))
    )
    agents = rows("agent").exclude(value="").aggregate(cost=Sum("billed_cost"), traces=Sum("traces"))
    cost = totals["cost"] or ZERO

    def per(amount, count, scale=1):
        return amount / count * scale if amount is not None and count else None

    return UnitEconomics(
        cost_per_request=per(cost, totals["n"]),
        cost_per_1k_tokens=per(cost, totals["tokens"], 1000),
        cost_per_active_customer=per(customers.cost, customers.active),
        cost_per_agent_task=per(agents["cost"], agents["traces"]),
        active_customers=customers.active,
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
        _breakdown(team=team, dimension="product", start=start, end=end)
        .values("day", "value")
        .annotate(cost=Sum("billed_cost"))
    )
    names = _product_names()
    points = [TrendPoint(r["day"], names.get(r["value"]) or DIMENSIONS["product"], r["cost"]) for r in direct]
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


def team_allocated_out(*, team: Team, period: MonthPeriod) -> list[AllocationLine]:
    """Where a shared team's cost went: each receiving team's line, with its rule and basis,
    largest first. Empty for a team nobody shares out."""
    if not AllocationResult.objects.filter(source_team=team, day__gte=period.start, day__lte=period.end).exists():
        return []
    lines = allocation_lines(start=period.start, end=period.end, team_ids=None)
    return sorted((a for a in lines if a.source_team == team.slug), key=lambda a: (-a.amount, a.team))


@dataclass(frozen=True)
class StatementLine:
    kind: str  # "direct", "allocated in", "allocated out"
    product: str
    model: str
    environment: str
    rule: str
    requests: int | None  # None on allocation lines: shared costs carry no traffic of their own
    input_tokens: int | None
    output_tokens: int | None
    list_cost: Decimal | None  # None on allocation lines: shared costs have no list price
    amount: Decimal
    product_name: str = ""
    feature: str = ""
    customer: str = ""
    customer_name: str = ""


def team_statement(*, team: Team, period: MonthPeriod) -> list[StatementLine]:
    """The month's showback statement: direct spend per product × feature × model × environment ×
    customer, then each allocation in (and, for a shared team, out). Its amounts sum to the page's
    total."""
    direct = list(
        DailyRollup.objects.filter(team=team, day__gte=period.start, day__lte=period.end)
        .values("product__slug", "product__name", "feature", "model", "environment__slug", "customer")
        .annotate(
            n=Sum("requests"),
            inp=Sum("input_tokens"),
            out=Sum("output_tokens"),
            lst=Sum("list_cost"),
            cost=Sum("billed_cost"),
        )
        .order_by("product__slug", "feature", "model", "environment__slug", "customer")
    )
    customers = dict(
        CustomerAccount.objects.filter(external_id__in={r["customer"] for r in direct if r["customer"]}).values_list(
            "external_id", "name"
        )
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
            product_name=r["product__name"] or "",
            feature=r["feature"],
            customer=r["customer"],
            customer_name=customers.get(r["customer"], ""),
        )
        for r in direct
    ]
    results = AllocationResult.objects.filter(day__gte=period.start, day__lte=period.end)
    for kind, rows, sign in (
        ("allocated in", results.filter(team=team), 1),
        ("allocated out", results.filter(source_team=team), -1),
    ):
        for r in rows.values("rule__name").annotate(cost=Sum("amount")).order_by("rule__name"):
            lines.append(StatementLine(kind, "", "", "", r["rule__name"], None, None, None, None, sign * r["cost"]))
    return lines
