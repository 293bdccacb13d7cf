"""What finance sees for the whole organisation: ranking, concentration, gaps, mix and movers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from apps.allocation.selectors import costs_report, fixed_costs_due
from apps.org.models import Product, Team
from apps.pricing.money import ZERO
from apps.rollups.models import GAPS, DailyBreakdown, DailyRollup
from apps.usage.models import ApiKey
from attribution_site.periods import MonthPeriod


@dataclass(frozen=True)
class TeamRank:
    slug: str | None  # None: the unattributed bucket (what no rule has allocated)
    name: str
    is_shared: bool
    total: Decimal
    direct: Decimal
    allocated_in: Decimal
    allocated_out: Decimal
    share: Decimal | None
    previous: Decimal

    @property
    def change(self) -> Decimal | None:
        return (self.total - self.previous) / self.previous if self.previous else None


@dataclass(frozen=True)
class Reconciliation:
    """Teams' totals plus what remains unallocated equal the month's spend: metered spend plus
    what the fixed-amount rules charge (worked out from the rules, so days they were not
    allocated on show as a gap)."""

    teams_total: Decimal
    unallocated: Decimal
    direct_spend: Decimal
    fixed_costs: Decimal

    @property
    def total_spend(self) -> Decimal:
        return self.direct_spend + self.fixed_costs

    @property
    def gap(self) -> Decimal:
        return self.total_spend - self.teams_total - self.unallocated

    @property
    def balances(self) -> bool:
        return self.gap == 0


def _breakdown(dimension: str, start: date, end: date):
    return DailyBreakdown.objects.filter(dimension=dimension, day__gte=start, day__lte=end)


def overview_teams(*, period: MonthPeriod) -> tuple[list[TeamRank], Reconciliation]:
    current = costs_report(start=period.start, end=period.end, group_by=["team"], filters={}, team_ids=None)
    prev_start, prev_end = period.previous_same_days()
    previous = costs_report(start=prev_start, end=prev_end, group_by=["team"], filters={}, team_ids=None)
    previous_totals = {r.key["team"]: r.total for r in previous.rows}
    teams = Team.objects.in_bulk(field_name="slug")
    grand = current.total.total
    ranks = []
    for r in current.rows:
        slug = r.key["team"]
        team = teams.get(slug)
        ranks.append(
            TeamRank(
                slug=slug,
                name=team.name if team else "Unattributed (not allocated)",
                is_shared=bool(team and team.is_shared),
                total=r.total,
                direct=r.direct_cost,
                allocated_in=r.allocated_in,
                allocated_out=r.allocated_out,
                share=r.total / grand if grand else None,
                previous=previous_totals.get(slug, ZERO),
            )
        )
    ranks.sort(key=lambda t: (t.slug is None, -t.total))
    unallocated = sum((t.total for t in ranks if t.slug is None), ZERO)
    reconciliation = Reconciliation(
        teams_total=sum((t.total for t in ranks if t.slug is not None), ZERO),
        unallocated=unallocated,
        direct_spend=current.total.direct_cost,
        fixed_costs=fixed_costs_due(start=period.start, end=period.end),
    )
    return ranks, reconciliation


@dataclass(frozen=True)
class Concentration:
    top_teams: list[TeamRank]
    top_teams_share: Decimal | None
    top_products: list[tuple[str, Decimal]]
    top_products_share: Decimal | None


def overview_concentration(*, ranks: list[TeamRank], period: MonthPeriod) -> Concentration:
    teams = [t for t in ranks if t.slug is not None and not t.is_shared][:3]
    total = sum((t.total for t in ranks), ZERO)
    names = dict(Product.objects.values_list("slug", "name"))
    products = [
        (names.get(slug, slug), cost)
        for slug, cost in _breakdown("product", period.start, period.end)
        .exclude(value="")
        .values_list("value")
        .annotate(cost=Sum("billed_cost"))
        .order_by("-cost")
    ]
    direct = sum((r.direct for r in ranks), ZERO)
    top_products = products[:5]
    return Concentration(
        top_teams=teams,
        top_teams_share=sum((t.total for t in teams), ZERO) / total if total else None,
        top_products=top_products,
        top_products_share=sum((c for _, c in top_products), ZERO) / direct if direct else None,
    )


@dataclass(frozen=True)
class Gap:
    api_key: str
    key_team: str
    reason: str
    cost: Decimal
    requests: int


def overview_unattributed(*, period: MonthPeriod) -> list[Gap]:
    """Spend without a team, or missing required tags, by the API key that sent it."""
    # Grouped by the key's id, named afterwards: joining the names first sorts every gap row.
    rows = list(
        DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end)
        .filter(GAPS)
        .values("api_key_id", "unattributed_reason", "team_tag", "missing_tags")
        .annotate(cost=Sum("billed_cost"), n=Sum("requests"))
        .order_by("-cost")
    )
    keys = ApiKey.objects.select_related("team").in_bulk({r["api_key_id"] for r in rows})
    gaps = []
    for r in rows:
        if r["api_key_id"] is None:  # billed by a provider in a scope mapped to no team
            gaps.append(Gap("(provider bill)", "", "reported by provider only", r["cost"], r["n"]))
            continue
        key = keys[r["api_key_id"]]
        if r["unattributed_reason"] == "missing":
            reason = "no team tag"
        elif r["unattributed_reason"] == "unknown":
            reason = f"unknown team '{r['team_tag']}'"
        else:
            reason = f"missing {r['missing_tags'].replace(',', ', ')}"
        gaps.append(Gap(key.name, key.team.name, reason, r["cost"], r["n"]))
    return gaps


def overview_model_mix(*, period: MonthPeriod) -> list[tuple[str, Decimal]]:
    rows = _breakdown("model", period.start, period.end).values_list("value").annotate(cost=Sum("billed_cost"))
    return list(rows.order_by("-cost"))


@dataclass(frozen=True)
class Mover:
    dimension: str
    label: str
    this_week: Decimal
    last_week: Decimal
    value: str = ""  # the team's slug, or the product's or feature's tag: what its link filters on

    @property
    def increase(self) -> Decimal:
        return self.this_week - self.last_week


def overview_movers(*, end: date, limit: int = 8) -> list[Mover]:
    """Teams, products and features whose direct spend rose most: the 7 days to `end` against
    the 7 days before."""
    week_start, last_week_start = end - timedelta(days=6), end - timedelta(days=13)
    names = {
        "team": dict(Team.objects.values_list("id", "name")),
        "slug": dict(Team.objects.values_list("id", "slug")),
        "product": dict(Product.objects.values_list("slug", "name")),
    }
    movers = []
    for dimension, field in (("team", "team_id"), ("product", "value"), ("feature", "value")):
        rows = _breakdown("total" if dimension == "team" else dimension, last_week_start, end)
        rows = rows.exclude(team__isnull=True) if dimension == "team" else rows.exclude(value="")
        sums = rows.values(field).annotate(
            this=Sum("billed_cost", filter=Q(day__gte=week_start)),
            last=Sum("billed_cost", filter=Q(day__lt=week_start)),
        )
        label = names.get(dimension, {})
        slugs = names["slug"] if dimension == "team" else {}
        movers += [
            Mover(
                dimension,
                label.get(r[field], r[field]),
                r["this"] or ZERO,
                r["last"] or ZERO,
                value=slugs.get(r[field], r[field]),
            )
            for r in sums
        ]
    return sorted((m for m in movers if m.increase > 0), key=lambda m: -m.increase)[:limit]


def overview_unpriced_models(*, period: MonthPeriod) -> dict[str, int]:
    """The models with events rated $0.00 for want of a price, and how many, for the mix's marks."""
    rows = _breakdown("model", period.start, period.end).values("value").annotate(n=Sum("unpriced")).filter(n__gt=0)
    return {r["value"]: r["n"] for r in rows}


def overview_unpriced(*, period: MonthPeriod) -> int:
    return _breakdown("total", period.start, period.end).aggregate(n=Sum("unpriced"))["n"] or 0


@dataclass(frozen=True)
class UsageMissing:
    api_key: str
    key_team: str
    calls: int


def overview_usage_missing(*, period: MonthPeriod) -> list[UsageMissing]:
    """Calls reported without token counts (so of unknown cost), by the API key that sent them."""
    rows = list(
        DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end, usage_missing__gt=0)
        .values("api_key_id")
        .annotate(n=Sum("usage_missing"))
        .order_by("-n", "api_key_id")
    )
    keys = ApiKey.objects.select_related("team").in_bulk({r["api_key_id"] for r in rows})
    return [UsageMissing(keys[r["api_key_id"]].name, keys[r["api_key_id"]].team.name, r["n"]) for r in rows]
