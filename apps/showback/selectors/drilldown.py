"""A team's spend over any range of days, narrowed by tags: the view every bar and row links to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import F, Sum

from apps.budgets.changes import DIMENSIONS as CHANGE_DIMENSIONS
from apps.budgets.changes import WhatChanged, previous_same_days, rows_what_changed
from apps.org.models import CustomerAccount, Product, Team
from apps.pricing.money import ZERO
from apps.rollups.models import DailyRollup

from .team import DIMENSIONS

# Query parameter → the rollup column it filters, in the order a reader narrows down.
FIELDS = {
    "product": "product__slug",
    "feature": "feature",
    "model": "model",
    "environment": "environment__slug",
    "customer": "customer",
    "agent": "agent",
}
MAX_DAYS = 366
TOP_ROWS = 20


@dataclass(frozen=True)
class DrillQuery:
    start: date
    end: date
    filters: dict[str, str]  # dimension → value ('' for spend without the tag)

    @classmethod
    def parse(cls, params, *, today: date, default: tuple[date, date]) -> DrillQuery:
        """`start`, `end` (YYYY-MM-DD, inclusive) and any tag filters. Raises ValueError naming the
        parameter and why."""
        days = {}
        for name, fallback in (("start", default[0]), ("end", default[1])):
            value = params.get(name)
            try:
                days[name] = date.fromisoformat(value) if value else fallback
            except ValueError:
                raise ValueError(f"{name} must be a day as YYYY-MM-DD, not {value!r}.") from None
        start, end = days["start"], days["end"]
        if start > today:
            raise ValueError(f"start {start} has not begun yet.")
        if end < start:
            raise ValueError("end must not be before start.")
        if (end - start).days >= MAX_DAYS:
            raise ValueError(f"a range covers at most {MAX_DAYS} days.")
        filters = {}
        for name in FIELDS:
            if name in params:
                value = params.get(name)
                if len(value) > 128:
                    raise ValueError(f"{name} is longer than 128 characters.")
                filters[name] = value
        return cls(start=start, end=min(end, today), filters=filters)

    def link(self, **more: str) -> str:
        """This view's query string, narrowed further by `more`."""
        return "?" + urlencode({"start": self.start, "end": self.end, **self.filters, **more})


@dataclass(frozen=True)
class DrillRow:
    dimension: str
    value: str
    label: str
    cost: Decimal
    requests: int
    link: str
    unpriced: int = 0  # events rated $0.00 for want of a price, marked on the page


@dataclass(frozen=True)
class Drilldown:
    query: DrillQuery
    total: Decimal
    requests: int
    tokens: int
    breakdowns: dict[str, list[DrillRow]]  # each dimension not yet filtered on, largest first
    labels: dict[str, str]  # each filter's value as a reader knows it
    unpriced: int = 0

    @property
    def previous(self) -> DrillQuery:
        span = self.query.end - self.query.start + timedelta(days=1)
        return DrillQuery(start=self.query.start - span, end=self.query.end - span, filters=self.query.filters)


def drill_rows(*, team: Team | None, filters: dict[str, str], start: date, end: date):
    """The rollup rows of the team (None: every team) between two days, narrowed by the filters."""
    rows = DailyRollup.objects.filter(day__gte=start, day__lte=end)
    if team is not None:
        rows = rows.filter(team=team)
    for dimension, value in filters.items():
        field = FIELDS[dimension]
        rows = (
            rows.filter(**{f"{field}__isnull": True}) if not value and "__" in field else rows.filter(**{field: value})
        )
    return rows


def drill_daily(*, team: Team | None, query: DrillQuery) -> list[tuple[date, Decimal]]:
    """The drill-down's direct spend day by day (days without spend at $0), for its trend."""
    rows = drill_rows(team=team, filters=query.filters, start=query.start, end=query.end)
    sums = dict(rows.values_list("day").annotate(cost=Sum("billed_cost")).order_by())
    days = (query.end - query.start).days + 1
    return [(day, sums.get(day, ZERO)) for day in (query.start + timedelta(days=n) for n in range(days))]


def drill_what_changed(*, team: Team | None, query: DrillQuery) -> WhatChanged:
    """The drill-down's days against the same days of the month before, split by the other tags."""
    prev_start, prev_end = previous_same_days(query.start, query.end)
    now_rows = drill_rows(team=team, filters=query.filters, start=query.start, end=query.end)
    before_rows = drill_rows(team=team, filters=query.filters, start=prev_start, end=prev_end)
    fields = [(d, FIELDS[d]) for d in CHANGE_DIMENSIONS if d not in query.filters]
    return rows_what_changed(
        now_rows=now_rows,
        before_rows=before_rows,
        fields=fields,
        start=query.start,
        end=query.end,
        prev_start=prev_start,
        prev_end=prev_end,
    )


def team_drilldown(*, team: Team | None, query: DrillQuery) -> Drilldown:
    """The team's direct spend (None: the organisation's metered spend) in the query's days and
    filters, broken down by every other tag."""
    rows = drill_rows(team=team, filters=query.filters, start=query.start, end=query.end)
    totals = rows.aggregate(
        cost=Sum("billed_cost"),
        n=Sum("requests"),
        t=Sum(F("input_tokens") + F("output_tokens")),
        unpriced=Sum("unpriced"),
    )
    products = dict(Product.objects.values_list("slug", "name"))
    names = {"product": products}
    if query.filters.get("customer"):
        names["customer"] = dict(
            CustomerAccount.objects.filter(external_id=query.filters["customer"]).values_list("external_id", "name")
        )
    breakdowns = {}
    for dimension, field in FIELDS.items():
        if dimension in query.filters:
            continue
        found = list(
            rows.values(field)
            .annotate(cost=Sum("billed_cost"), n=Sum("requests"), unpriced=Sum("unpriced"))
            .order_by("-cost", field)[:TOP_ROWS]
        )
        if dimension == "customer":
            ids = {r[field] for r in found if r[field]}
            names["customer"] = names.get("customer", {}) | dict(
                CustomerAccount.objects.filter(external_id__in=ids).values_list("external_id", "name")
            )
        breakdowns[dimension] = [
            DrillRow(
                dimension=dimension,
                value=r[field] or "",
                label=names.get(dimension, {}).get(r[field]) or r[field] or DIMENSIONS[dimension] or "(none)",
                cost=r["cost"],
                requests=r["n"],
                link=query.link(**{dimension: r[field] or ""}),
                unpriced=r["unpriced"],
            )
            for r in found
        ]
    labels = {d: names.get(d, {}).get(v) or v or DIMENSIONS[d] or "(none)" for d, v in query.filters.items()}
    return Drilldown(
        query=query,
        total=totals["cost"] or ZERO,
        requests=totals["n"] or 0,
        tokens=totals["t"] or 0,
        breakdowns=breakdowns,
        labels=labels,
        unpriced=totals["unpriced"] or 0,
    )
