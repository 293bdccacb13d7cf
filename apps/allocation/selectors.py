"""Reads for finance tools and pages: costs by any dimension, and allocations with their basis."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import NullIf, TruncMonth

from apps.pricing.fields import from_nanos, to_nanos
from apps.pricing.money import ZERO, usd
from apps.rollups.models import DailyBreakdown, DailyRollup

from .models import AllocationResult, SharedCostRule
from .splitting import monthly_amount_for_day

# API dimension → rollup field it groups by.
ROLLUP_DIMENSIONS = {
    "team": "team__slug",
    "product": "product__slug",
    "feature": "feature",
    "environment": "environment__slug",
    "provider": "provider",
    "model": "model",
    "customer": "customer",
    "agent": "agent",
    "day": "day",
    "month": "month",
    # Late events of a closed month, booked in an open one: the closed month (YYYY-MM), '' for the rest.
    "adjustment": "adjusts_month",
}
_FOREIGN_KEY_DIMENSIONS = {"product", "environment"}


@dataclass
class CostRow:
    key: dict[str, object]
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    list_cost: Decimal = ZERO
    direct_cost: Decimal = ZERO
    allocated_in: Decimal = ZERO
    allocated_out: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.direct_cost + self.allocated_in - self.allocated_out

    def add(self, other: CostRow) -> None:
        for name in _FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @classmethod
    def sum_of(cls, rows: list[CostRow]) -> CostRow:
        total = cls(key={})
        for row in rows:
            total.add(row)
        return total


_FIGURES = tuple(f.name for f in fields(CostRow) if f.name != "key")


def cost_row_order(row: CostRow) -> tuple:
    """Largest total first, then by key, so equal totals keep one order and cursor pages
    (apps.allocation.paging) neither repeat nor skip a row."""
    return (-row.total, tuple((value is None, str(value)) for value in row.key.values()))


@dataclass
class CostReport:
    rows: list[CostRow]
    total: CostRow = field(init=False)

    def __post_init__(self) -> None:
        self.total = CostRow.sum_of(self.rows)


class _Grouped(dict):
    """Cost rows by their key, made on first use: direct spend and allocations add to the same row."""

    def __init__(self, group_by: list[str]) -> None:
        super().__init__()
        self.group_by = group_by

    def row(self, values: dict, mapping: dict[str, str]) -> CostRow:
        key = tuple(values.get(mapping.get(d, "")) for d in self.group_by)
        if key not in self:
            self[key] = CostRow(key=dict(zip(self.group_by, key, strict=True)))
        return self[key]


class CostReportTooLarge(Exception):
    """The report would have more than `max_rows` rows."""

    def __init__(self, max_rows: int):
        super().__init__(max_rows)
        self.max_rows = max_rows


def _sums(
    queryset: QuerySet, group_by: list[str], mapping: dict[str, str], max_rows: int | None = None, **sums
) -> list[dict]:
    """One dict of `sums` per group; with nothing to group by, one dict for the whole queryset.
    More than `max_rows` groups raise CostReportTooLarge, having fetched only one more than that."""
    if not group_by:
        totals = queryset.aggregate(**sums)
        return [totals] if any(v is not None for v in totals.values()) else []
    if "month" in group_by:
        queryset = queryset.annotate(month=TruncMonth("day"))
    grouped = queryset.values(*(mapping[d] for d in group_by)).annotate(**sums)
    if max_rows is None:
        return list(grouped)
    rows = list(grouped[: max_rows + 1])
    if len(rows) > max_rows:
        raise CostReportTooLarge(max_rows)
    return rows


def _direct_source(*, start: date, end: date, group_by: list[str], filters: dict[str, str]):
    """The smallest table that answers the question, and how dimensions map onto it.

    Grouped or filtered by at most one dimension besides team and time, the per-dimension daily
    breakdown holds the same sums in far fewer rows than the rollups; across two dimensions (by
    product and model, say) only the rollups do.
    """
    others = {d for d in (*group_by, *filters) if d not in ("team", "day", "month")}
    if len(others) > 1:
        rollups = DailyRollup.objects.filter(day__gte=start, day__lte=end)
        return rollups.filter(**{ROLLUP_DIMENSIONS[d]: v for d, v in filters.items()}), ROLLUP_DIMENSIONS
    dimension = others.pop() if others else DailyBreakdown.Dimension.TOTAL
    mapping = {"team": "team__slug", "day": "day", "month": "month", dimension: "value_or_none"}
    breakdown = DailyBreakdown.objects.filter(day__gte=start, day__lte=end, dimension=dimension)
    if dimension in _FOREIGN_KEY_DIMENSIONS:  # the rollups say NULL where the breakdown says ''
        breakdown = breakdown.annotate(value_or_none=NullIf("value", Value("")))
    else:
        breakdown = breakdown.annotate(value_or_none=F("value"))
    breakdown = breakdown.filter(**{"team__slug" if d == "team" else "value": v for d, v in filters.items()})
    return breakdown, mapping


def costs_report(
    *,
    start: date,
    end: date,
    group_by: list[str],
    filters: dict[str, str],
    team_ids: list[int] | None,
    max_rows: int | None = None,
) -> CostReport:
    """Costs between two days (inclusive), grouped by `group_by`, from rollups and allocations.

    `team_ids` limits everything to those teams (None: the whole organisation). Allocation rows
    are left out when `filters` names a dimension they do not have (e.g. a product). With
    `max_rows`, a report of more rows raises CostReportTooLarge before they reach Python.
    """
    rows = _Grouped(group_by)
    _direct_add(rows, start=start, end=end, filters=filters, team_ids=team_ids, max_rows=max_rows)
    if set(filters) <= {"team"}:
        _allocations_add(rows, start=start, end=end, team=filters.get("team"), team_ids=team_ids)
    return CostReport(rows=sorted(rows.values(), key=cost_row_order))


def _direct_add(
    rows: _Grouped, *, start: date, end: date, filters: dict[str, str], team_ids: list[int] | None, max_rows
) -> None:
    rollups, mapping = _direct_source(start=start, end=end, group_by=rows.group_by, filters=filters)
    if team_ids is not None:
        rollups = rollups.filter(team_id__in=team_ids)
    sums = {
        "s_requests": Sum("requests"),
        "s_input": Sum("input_tokens"),
        "s_output": Sum("output_tokens"),
        "s_list": Sum("list_cost"),
        "s_billed": Sum("billed_cost"),
    }
    for values in _sums(rollups, rows.group_by, mapping, max_rows, **sums):
        r = rows.row(values, mapping)
        r.requests, r.input_tokens, r.output_tokens = values["s_requests"], values["s_input"], values["s_output"]
        r.list_cost, r.direct_cost = values["s_list"], values["s_billed"]


def _allocations_add(rows: _Grouped, *, start: date, end: date, team: str | None, team_ids: list[int] | None) -> None:
    """Allocations carry only team and time: grouped by anything else they show with that key empty
    (and the caller leaves them out when filtering on anything else)."""
    results = AllocationResult.objects.filter(day__gte=start, day__lte=end)
    incoming = results.filter(team__slug=team) if team else results
    outgoing = results.filter(rule__source__in=[SharedCostRule.Source.SHARED_TEAM, SharedCostRule.Source.UNATTRIBUTED])
    outgoing = outgoing.filter(source_team__slug=team) if team else outgoing
    if team_ids is not None:
        incoming = incoming.filter(team_id__in=team_ids)
        outgoing = outgoing.filter(source_team_id__in=team_ids)
    in_fields = {"team": "team__slug", "day": "day", "month": "month"}
    out_fields = {"team": "source_team__slug", "day": "day", "month": "month"}
    for values in _sums(incoming, [d for d in rows.group_by if d in in_fields], in_fields, s=Sum("amount")):
        rows.row(values, in_fields).allocated_in += values["s"]
    for values in _sums(outgoing, [d for d in rows.group_by if d in out_fields], out_fields, s=Sum("amount")):
        rows.row(values, out_fields).allocated_out += values["s"]


def fixed_costs_due(*, start: date, end: date) -> Decimal:
    """What the fixed-amount rules in force charge for the days from `start` to `end`, worked out
    from the rules themselves rather than their results: what those results must add up to."""
    rules = SharedCostRule.objects.filter(source=SharedCostRule.Source.FIXED, effective_from__lte=end).filter(
        Q(effective_until__isnull=True) | Q(effective_until__gte=start)
    )
    nanos = 0
    for rule in rules:
        day, last = max(start, rule.effective_from), min(end, rule.effective_until or end)
        while day <= last:
            nanos += monthly_amount_for_day(to_nanos(rule.monthly_amount), day)
            day += timedelta(days=1)
    return from_nanos(nanos)


@dataclass(frozen=True)
class AllocationDay:
    """One day's allocated amount with the figures that explain it exactly."""

    day: date
    amount: Decimal
    source_amount: Decimal
    basis: Decimal
    basis_total: Decimal
    share: Decimal
    fell_back_to_even: bool


@dataclass(frozen=True)
class AllocationLine:
    """One team's allocation from one rule over a period, with what explains it.

    Over a period, proportional methods sum their figures: the team's usage on every day of the
    rule (`basis`) against all targets' usage on those days (`basis_total`). An even split or
    fixed percentages have the same figures every day: those are given (1 of 4 teams; 20% of 100%).
    """

    rule_id: int
    rule: str
    source: str
    source_team: str | None
    team: str
    team_name: str
    method: str
    amount: Decimal
    source_amount: Decimal
    basis: Decimal
    basis_total: Decimal
    days_fell_back: int
    days: list[AllocationDay]

    @property
    def source_phrase(self) -> str:
        """Whose money was split, as the team reads it."""
        if self.source == SharedCostRule.Source.SHARED_TEAM:
            return f"the {self.source_team} team's {usd(self.source_amount)}"
        if self.source == SharedCostRule.Source.UNATTRIBUTED:
            return f"{usd(self.source_amount)} of unattributed spend"
        return f"{self.rule} ({usd(self.source_amount)})"

    @property
    def method_phrase(self) -> str:
        return SharedCostRule.Method(self.method).phrase

    @property
    def basis_phrase(self) -> str:
        """The team's figure against all targets' (dollars, percentages or counts)."""
        if self.method == SharedCostRule.Method.BILLED_COST:
            return f"{usd(self.basis)} of {usd(self.basis_total)}"
        if self.method == SharedCostRule.Method.FIXED_PERCENT:
            return f"{self.basis:.2f}% of {self.basis_total:.2f}%"
        return f"{self.basis:,.0f} of {self.basis_total:,.0f}"

    @property
    def share(self) -> Decimal:
        """The team's effective share of the rule's source over the period."""
        if not self.source_amount:
            return Decimal(0)
        return (self.amount / self.source_amount).quantize(Decimal("0.000001"))


PROPORTIONAL = {SharedCostRule.Method.BILLED_COST, SharedCostRule.Method.TOKENS, SharedCostRule.Method.REQUESTS}


def allocation_lines(*, start: date, end: date, team_ids: list[int] | None) -> list[AllocationLine]:
    in_period = AllocationResult.objects.filter(day__gte=start, day__lte=end)
    results = in_period if team_ids is None else in_period.filter(team_id__in=team_ids)
    grouped: dict[tuple, list[AllocationResult]] = defaultdict(list)
    for r in results.select_related("rule", "team", "source_team").order_by("day"):
        grouped[(r.rule_id, r.team_id, r.method)].append(r)
    # Each rule's source and basis total over the days split by a method, including days on which
    # a team got nothing (one row per rule and day: all of a day's results carry the same figures).
    sources: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    basis_totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for rule_id, _day, source_amount, basis_total, method in (
        in_period.filter(rule_id__in={rule_id for rule_id, _, _ in grouped})
        .values_list("rule_id", "day", "source_amount", "basis_total", "method")
        .distinct()
    ):
        sources[(rule_id, method)] += source_amount
        basis_totals[(rule_id, method)] += basis_total
    lines = []
    for (rule_id, _team_id, method), rows in grouped.items():
        first = rows[0]
        if method in PROPORTIONAL:
            basis, basis_total = sum((r.basis for r in rows), Decimal(0)), basis_totals[(rule_id, method)]
        else:
            basis, basis_total = first.basis, first.basis_total
        lines.append(
            AllocationLine(
                rule_id=rule_id,
                rule=first.rule.name,
                source=first.rule.source,
                source_team=first.source_team.slug if first.source_team else None,
                team=first.team.slug,
                team_name=first.team.name,
                method=method,
                amount=sum((r.amount for r in rows), ZERO),
                source_amount=sources[(rule_id, method)],
                basis=basis,
                basis_total=basis_total,
                days_fell_back=sum(r.fell_back_to_even for r in rows),
                days=[
                    AllocationDay(
                        r.day, r.amount, r.source_amount, r.basis, r.basis_total, r.share, r.fell_back_to_even
                    )
                    for r in rows
                ],
            )
        )
    return sorted(lines, key=lambda line: (line.team, line.rule, line.method))
