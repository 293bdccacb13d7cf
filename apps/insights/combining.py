"""Savings that add up: the open and accepted opportunities of one scope combined, each lever priced
on the spend the levers before it leave, and never more than the spend they are drawn from."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Q

from apps.org.models import Team
from apps.pricing.fields import NANO
from apps.pricing.money import ZERO

from .models import Opportunity
from .repricing import monthly
from .selectors import WINDOW_DAYS, rollup_spend, window

LIVE = (Opportunity.Status.OPEN, Opportunity.Status.ACCEPTED)
ALERTS = (Opportunity.Lever.UNIT_COST_DRIFT,)  # a rise in unit cost to look into, not a saving to book
SCOPE_FIELDS = ("product_id", "feature", "agent")


@dataclass(frozen=True)
class LeverStep:
    """One lever of a combined row: what it found alone, and what it saves on the spend left to it."""

    opportunity: Opportunity
    found: Decimal  # the lever's own monthly saving, as if it were the only one
    share: Decimal  # of the scope's spend that it removes (found / spend, at most 1)
    saving: Decimal  # share × the spend the levers before it left


@dataclass
class CombinedSaving:
    """One scope (a team, and its product, feature and agent where the opportunities name them)."""

    team: Team
    product_id: int | None
    feature: str
    agent: str
    spend: Decimal  # the scope's monthly spend, the most its levers together can save
    drawn_from: Decimal = ZERO  # what was left of it once narrower scopes of the team were counted
    steps: list[LeverStep] = field(default_factory=list)

    @property
    def saving(self) -> Decimal:
        return sum((s.saving for s in self.steps), ZERO)

    @property
    def found(self) -> Decimal:
        """The levers' savings summed as found: what adding them up would claim."""
        return sum((s.found for s in self.steps), ZERO)

    @property
    def levers(self) -> list[str]:
        return [s.opportunity.get_lever_display() for s in self.steps]

    @property
    def scope(self) -> tuple:
        return (self.product_id, self.feature, self.agent)

    @property
    def label(self) -> str:
        product = self.steps[0].opportunity.product if self.product_id else None
        parts = [f"product {product.slug}" if product else "", self.feature and f"feature {self.feature}"]
        parts.append(self.agent and f"agent {self.agent}")
        return ", ".join(p for p in parts if p) or "the whole team"

    def contains(self, other: CombinedSaving) -> bool:
        """Whether `other`'s spend lies within this scope's (each field this scope names, it names too)."""
        return all(mine in ("", None) or mine == theirs for mine, theirs in zip(self.scope, other.scope, strict=True))


def _nano(amount: Decimal) -> Decimal:
    return amount.quantize(NANO, rounding=ROUND_HALF_EVEN)


def _scope_spend(*, team_id: int, scope: tuple, start: date, end: date) -> Decimal:
    where = Q(team_id=team_id)
    for name, value in zip(SCOPE_FIELDS, scope, strict=True):
        if value not in ("", None):
            where &= Q(**{name: value})
    rows = rollup_spend(start=start, end=end, by=["team_id"], where=where)
    return monthly(sum((r["cost"] for r in rows), ZERO), days=WINDOW_DAYS)


def combined_savings(*, today: date, team_ids: list[int] | None = None) -> list[CombinedSaving]:
    """One row per scope of the live opportunities (drift left out: it is an alert), largest first.

    Within a scope the levers apply in turn, largest first: each removes its share of what the ones
    before it left (`saving = share × remaining`), so together they save `spend × (1 − Π(1 − share))`,
    never the sum. Within a team, narrower scopes are counted first and a wider scope draws only on
    what they left of its spend, and at most on what is left of the team's: a team's combined savings
    never exceed its spend, so the organisation's never exceed the spend they are drawn from."""
    start, end = window(today)
    live = Opportunity.objects.filter(status__in=LIVE).exclude(lever__in=ALERTS).select_related("team", "product")
    if team_ids is not None:
        live = live.filter(team_id__in=team_ids)
    by_scope: dict[tuple, list[Opportunity]] = defaultdict(list)
    for o in live.order_by("team_id", "-monthly_saving", "id"):
        by_scope[(o.team_id, o.product_id, o.feature, o.agent)].append(o)
    by_team: dict[int, list[CombinedSaving]] = defaultdict(list)
    for (team_id, *scope), opportunities in by_scope.items():
        spend = _scope_spend(team_id=team_id, scope=tuple(scope), start=start, end=end)
        by_team[team_id].append(CombinedSaving(opportunities[0].team, *scope, spend=spend))
    rows = []
    for team_id, scopes in by_team.items():
        team_left = _scope_spend(team_id=team_id, scope=(None, "", ""), start=start, end=end)
        # Narrowest first: a scope naming more of product, feature and agent is counted before those it lies in.
        scopes.sort(key=lambda s: (-sum(v not in ("", None) for v in s.scope), -s.spend))
        for i, row in enumerate(scopes):
            within = sum((s.saving for s in scopes[:i] if row.contains(s)), ZERO)
            row.drawn_from = max(min(row.spend - within, team_left), ZERO)
            remaining = row.drawn_from
            for o in by_scope[(team_id, *row.scope)]:
                share = min(o.monthly_saving / row.spend, Decimal(1)) if row.spend else ZERO
                saving = _nano(remaining * share)
                row.steps.append(LeverStep(opportunity=o, found=o.monthly_saving, share=share, saving=saving))
                remaining -= saving
            team_left -= row.saving
            rows.append(row)
    return sorted(rows, key=lambda r: (-r.saving, r.team.slug, r.label))
