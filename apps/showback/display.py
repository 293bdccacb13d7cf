"""Rounding for display: the cents shown in a column add up to the total shown beneath it.

Exact figures stay exact in the exports and the API; only what a page prints is rounded, by the
largest-remainder method, so a reader adding up a column gets the total the page states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from apps.pricing.money import CENT


def cents(amount: Decimal) -> Decimal:
    """The amount as `apps.pricing.money.usd` shows it: half-even to the cent."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_EVEN)


def parts_rounded(parts: Sequence[Decimal], total: Decimal | None = None) -> list[Decimal]:
    """Each part in cents, summing exactly to `total` in cents (by default the parts' own sum).

    Every part is floored to the cent, then the cents still missing go one each to the parts that
    lost most in flooring (ties to the larger part, then the earlier one)."""
    exact = [Decimal(p) for p in parts]
    target = cents(sum(exact, Decimal(0)) if total is None else total)
    floors = [p.quantize(CENT, rounding=ROUND_FLOOR) for p in exact]
    missing = int((target - sum(floors, Decimal(0))) / CENT)
    if not 0 <= missing <= len(exact):
        raise ValueError(f"parts summing to {sum(exact, Decimal(0))} cannot be rounded to a total of {target}")
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), -exact[i], i))
    for i in order[:missing]:
        floors[i] += CENT
    return floors


def _column(parts: Sequence[Decimal], *, total: Decimal | None = None, shown_total: Decimal | None = None):
    """Parts rounded to sum to `shown_total` when the parts add up exactly to `total` (a figure
    already shown elsewhere on the page), else to their own sum."""
    exact = sum((Decimal(p) for p in parts), Decimal(0))
    target = shown_total if shown_total is not None and total is not None and exact == total else None
    rounded = parts_rounded(parts, target)
    return rounded, sum(rounded, Decimal(0)).quantize(CENT)


@dataclass(frozen=True)
class SpendShown:
    direct: Decimal
    allocated_in: Decimal
    allocated_out: Decimal
    total: Decimal


def spend_shown(row) -> SpendShown:
    """A CostRow's parts in cents: direct + allocated in − allocated out = total, as printed."""
    direct, allocated_in, out = parts_rounded([row.direct_cost, row.allocated_in, -row.allocated_out], row.total)
    return SpendShown(direct, allocated_in, -out, direct + allocated_in + out)


@dataclass(frozen=True)
class TeamPageShown:
    headline: SpendShown
    breakdowns: dict[str, list]  # dimension → [(row, cents)]
    breakdown_totals: dict[str, Decimal]
    allocations: list  # [(line, cents)]
    allocated_out: list  # [(line, cents)]
    allocated_out_total: Decimal
    monthly: list  # [(row, SpendShown)]


def team_page_shown(page) -> TeamPageShown:
    """What a team's page prints (apps.showback.selectors.team_page.TeamPage), column sums intact."""
    headline = spend_shown(page.headline.spend)
    breakdowns, totals = {}, {}
    for dimension, rows in page.breakdowns.items():
        rounded, totals[dimension] = _column(
            [r.cost for r in rows], total=page.headline.spend.direct_cost, shown_total=headline.direct
        )
        breakdowns[dimension] = list(zip(rows, rounded, strict=True))
    incoming = [a for a in page.allocations if a.team == page.team.slug]
    allocated, _ = _column(
        [a.amount for a in incoming], total=page.headline.spend.allocated_in, shown_total=headline.allocated_in
    )
    outgoing, out_total = _column(
        [a.amount for a in page.allocated_out],
        total=page.headline.spend.allocated_out,
        shown_total=headline.allocated_out,
    )
    return TeamPageShown(
        headline=headline,
        breakdowns=breakdowns,
        breakdown_totals=totals,
        allocations=list(zip(incoming, allocated, strict=True)),
        allocated_out=list(zip(page.allocated_out, outgoing, strict=True)),
        allocated_out_total=out_total,
        monthly=[(r, spend_shown(r)) for r in page.monthly],
    )


@dataclass(frozen=True)
class OverviewShown:
    ranks: list  # [(TeamRank, SpendShown)]
    columns: SpendShown  # each column's total
    teams_total: Decimal
    unallocated: Decimal
    total_spend: Decimal
    direct_spend: Decimal
    fixed_costs: Decimal
    model_mix: list  # [(model, cents)]
    model_mix_total: Decimal

    @property
    def gap(self) -> Decimal:
        return self.total_spend - self.teams_total - self.unallocated


def overview_shown(*, ranks, reconciliation, model_mix) -> OverviewShown:
    """What the overview prints: every column of the team table adds up to its total row, and
    teams + unallocated = total spend as printed whenever the exact figures reconcile."""
    metered, fixed = parts_rounded([reconciliation.direct_spend, reconciliation.fixed_costs])
    total_spend = metered + fixed
    totals, _ = _column(
        [t.total for t in ranks],
        total=reconciliation.teams_total + reconciliation.unallocated,
        shown_total=total_spend if reconciliation.balances else None,
    )
    direct, direct_total = _column([t.direct for t in ranks], total=reconciliation.direct_spend, shown_total=metered)
    shared_in, in_total = _column([t.allocated_in for t in ranks])
    shared_out, out_total = _column([t.allocated_out for t in ranks])
    rows = [(rank, SpendShown(direct[i], shared_in[i], shared_out[i], totals[i])) for i, rank in enumerate(ranks)]
    mix, mix_total = _column([c for _, c in model_mix], total=reconciliation.direct_spend, shown_total=metered)
    return OverviewShown(
        ranks=rows,
        columns=SpendShown(direct_total, in_total, out_total, sum(totals, Decimal(0)).quantize(CENT)),
        teams_total=sum((s.total for r, s in rows if r.slug is not None), Decimal(0)).quantize(CENT),
        unallocated=sum((s.total for r, s in rows if r.slug is None), Decimal(0)).quantize(CENT),
        total_spend=total_spend,
        direct_spend=metered,
        fixed_costs=fixed,
        model_mix=[(model, mix[i]) for i, (model, _) in enumerate(model_mix)],
        model_mix_total=mix_total,
    )


def drilldown_shown(drill) -> dict[str, tuple[list, Decimal]]:
    """Each breakdown of a drill-down (apps.showback.selectors.drilldown) as [(row, cents)] and its total."""
    shown = {}
    for dimension, rows in drill.breakdowns.items():
        rounded, total = _column([r.cost for r in rows], total=drill.total, shown_total=cents(drill.total))
        shown[dimension] = (list(zip(rows, rounded, strict=True)), total)
    return shown
