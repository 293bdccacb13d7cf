"""Spend per person (events' `person`): a team's Coding agents section and finance's top spenders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import Lower

from apps.billing.models import BillingLine
from apps.org.models import Team
from apps.org.people import people_info, team_people
from apps.org.selectors import user_leads_team, user_sees_all_teams
from apps.pricing.money import ZERO
from apps.rollups.models import DailyRollup
from attribution_site.periods import MonthPeriod

# Models shown in a person's mix; the rest are summed as "other".
MIX_MODELS = 3


@dataclass
class PersonSpend:
    identifier: str
    name: str
    team: str | None  # the slug of the team the person maps to
    spend: Decimal = ZERO
    previous: Decimal = ZERO  # the same days of last month
    active_days: int = 0
    models: list[tuple[str, Decimal]] = field(default_factory=list)  # spend per model, largest first
    # What the provider's own report (Anthropic's analytics `actor`) billed to the person: seat
    # products such as Claude Code send no events, so this is beside `spend`, not part of it.
    provider_billed: Decimal = ZERO

    @property
    def rank(self) -> Decimal:
        return max(self.spend, self.provider_billed)

    @property
    def cost_per_active_day(self) -> Decimal | None:
        return (self.spend / self.active_days).quantize(Decimal("0.000000001")) if self.active_days else None

    @property
    def change_percent(self) -> Decimal | None:
        """This month so far against the same days of last month; None without spend then."""
        if not self.previous:
            return None
        return ((self.spend - self.previous) * 100 / self.previous).quantize(Decimal("1"))

    @property
    def mix(self) -> list[tuple[str, Decimal]]:
        """The largest models with their share of the person's spend (percent), the rest as other."""
        if not self.spend:
            return []
        shown = [(m, (c * 100 / self.spend).quantize(Decimal("1"))) for m, c in self.models[:MIX_MODELS]]
        rest = sum((c for _, c in self.models[MIX_MODELS:]), ZERO)
        return shown + ([("other", (rest * 100 / self.spend).quantize(Decimal("1")))] if rest else [])


def _rows(start: date, end: date, lowered: set[str] | None):
    rows = DailyRollup.objects.filter(day__gte=start, day__lte=end).exclude(person="")
    if lowered is not None:
        rows = rows.annotate(low=Lower("person")).filter(low__in=lowered)
    return rows


def people_spend(*, period: MonthPeriod, identifiers: set[str] | None = None) -> dict[str, PersonSpend]:
    """Spend per person this month (every team's events), keyed by the person as events name them.
    `identifiers` limits it to those people (compared case-insensitively)."""
    lowered = {i.lower() for i in identifiers} if identifiers is not None else None
    found: dict[str, PersonSpend] = {}
    models: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in (
        _rows(period.start, period.end, lowered).values("person", "model_family").annotate(cost=Sum("billed_cost"))
    ):
        models[r["person"]][r["model_family"]] += r["cost"]
    days = _rows(period.start, period.end, lowered).values("person").annotate(days=Count("day", distinct=True))
    previous_start, previous_end = period.previous_same_days()
    previous = {
        r["person"]: r["cost"]
        for r in _rows(previous_start, previous_end, lowered).values("person").annotate(cost=Sum("billed_cost"))
    }
    billed_lines = BillingLine.objects.filter(day__gte=period.start, day__lte=period.end).exclude(person="")
    if lowered is not None:
        billed_lines = billed_lines.annotate(low=Lower("person")).filter(low__in=lowered)
    billed = {r["person"]: r["cost"] for r in billed_lines.values("person").annotate(cost=Sum("billed_cost"))}
    known = {p.lower(): p for p in (*models, *previous)}
    billed = {known.get(p.lower(), p): cost for p, cost in billed.items()}
    everyone = set(models) | set(previous) | set(billed)
    info = people_info(everyone)
    slugs = dict(Team.objects.values_list("id", "slug"))
    for person in everyone:
        spent = sorted(models[person].items(), key=lambda item: (-item[1], item[0]))
        found[person] = PersonSpend(
            identifier=person,
            name=info[person].name,
            team=slugs.get(info[person].team_id),
            spend=sum((c for _, c in spent), ZERO),
            previous=previous.get(person, ZERO),
            models=spent,
            provider_billed=billed.get(person, ZERO),
        )
    for r in days:
        found[r["person"]].active_days = r["days"]
    return found


def _ranked(people: dict[str, PersonSpend]) -> list[PersonSpend]:
    return sorted((p for p in people.values() if p.rank), key=lambda p: (-p.rank, p.identifier))


def team_coding_agents(*, team: Team, period: MonthPeriod, user) -> list[PersonSpend]:
    """The team's people with their month's spend, largest first: those mapped to the team (by the
    admin or their login) and those whose calls the team was charged for, unless mapped to another
    team. A member sees only their own line; leads, finance and staff see everyone's."""
    charged = set(
        DailyRollup.objects.filter(day__gte=period.start, day__lte=period.end, team=team)
        .exclude(person="")
        .values_list("person", flat=True)
        .distinct()
    )
    members = {i.lower() for i in team_people(team)}
    spend = people_spend(period=period, identifiers=members | {c.lower() for c in charged})
    mine = {p: s for p, s in spend.items() if s.team == team.slug or (s.team is None and p in charged)}
    if not (user_sees_all_teams(user) or user_leads_team(user, team)):
        email = (getattr(user, "email", "") or "").lower()
        mine = {p: s for p, s in mine.items() if email and p.lower() == email}
    return _ranked(mine)


def top_spenders(*, period: MonthPeriod, limit: int = 10) -> list[PersonSpend]:
    """The organisation's people who spent most this month (for finance)."""
    return _ranked(people_spend(period=period))[:limit]
