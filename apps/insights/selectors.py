"""Reads for the detectors (token sums from events, spend from rollups) and for the pages and API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from apps.org.models import Team, TeamMembership
from apps.pricing.rating import catalog
from apps.rollups.models import DailyRollup
from apps.usage.models import UsageEvent

from .models import Opportunity
from .repricing import Tokens

WINDOW_DAYS = 28
SCOPE = ["team_id", "product_id", "feature", "agent"]
TOKEN_SUMS = {
    "calls": Count("id"),
    "input": Sum("input_tokens"),
    "output": Sum("output_tokens"),
    "cache_read": Sum("cache_read_tokens"),
    "cache_write": Sum("cache_write_tokens"),
    "cache_write_1h": Sum("cache_write_1h_tokens"),
}


@dataclass(frozen=True)
class TokenGroup:
    """Calls of one scope, model, day, tier and price band (long context or not), summed."""

    key: dict
    provider: str
    model: str
    day: date
    tier: str
    long: bool
    calls: int
    tokens: Tokens

    @property
    def at(self) -> datetime:
        """Where in the day the group is priced: its end, so a price effective that day applies."""
        return datetime.combine(self.day, time.max, tzinfo=UTC)


def window(today: date, days: int = WINDOW_DAYS) -> tuple[date, date]:
    """The last `days` whole days before `today`."""
    return today - timedelta(days=days), today - timedelta(days=1)


def event_token_groups(
    *, start: date, end: date, by: Iterable[str] = SCOPE, extra: dict | None = None, where: Q | None = None
) -> list[TokenGroup]:
    """Priced, attributed events between two days summed per scope, model, day, tier and price band.

    One grouped query per model seen, so the rows returned grow with scopes × days, not calls.
    `extra` adds grouping expressions (e.g. routine or not, the hour of day).
    """
    by, extra = list(by), dict(extra or {})
    events = UsageEvent.objects.filter(
        day__gte=start, day__lte=end, team__isnull=False, unpriced=False, usage_missing=False
    )
    if where is not None:
        events = events.filter(where)
    prices = catalog.get()
    at = datetime.combine(end, time.max, tzinfo=UTC)
    groups: list[TokenGroup] = []
    for provider, model in events.values_list("provider", "model").distinct().order_by():
        price = prices.price_at(provider, model, at)
        threshold = price.long_threshold if price is not None and price.long is not None else None
        long = (
            Case(When(input_tokens__gt=threshold, then=Value(True)), default=Value(False), output_field=BooleanField())
            if threshold is not None
            else Value(False, output_field=BooleanField())
        )
        rows = (
            events.filter(provider=provider, model=model)
            .annotate(long=long, **extra)
            .values(*by, *extra, "day", "service_tier", "long")
            .annotate(**TOKEN_SUMS)
            .order_by()
        )
        for row in rows:
            groups.append(
                TokenGroup(
                    key={k: row[k] for k in (*by, *extra)},
                    provider=provider,
                    model=model,
                    day=row["day"],
                    tier=row["service_tier"],
                    long=bool(row["long"]),
                    calls=row["calls"],
                    # PostgreSQL sums bigints as numeric: counts are made ints again here.
                    tokens=Tokens(
                        input=int(row["input"]),
                        output=int(row["output"]),
                        cache_read=int(row["cache_read"]),
                        cache_write=int(row["cache_write"]),
                        cache_write_1h=int(row["cache_write_1h"]),
                    ),
                )
            )
    return groups


def rollup_spend(*, start: date, end: date, by: Iterable[str], where: Q | None = None) -> list[dict]:
    """Attributed rollup rows between two days summed per `by`: billed cost and requests."""
    rows = DailyRollup.objects.filter(day__gte=start, day__lte=end, team__isnull=False)
    if where is not None:
        rows = rows.filter(where)
    rows = rows.values(*by).annotate(cost=Sum("billed_cost"), requests=Sum("requests")).order_by()
    return [{**r, "requests": int(r["requests"])} for r in rows]


def scope_unit_cost(*, opportunity: Opportunity, start: date, end: date) -> tuple[Decimal, int]:
    """Billed cost and requests of an opportunity's scope (team, product, feature, agent, key)."""
    where = Q(team_id=opportunity.team_id)
    if opportunity.product_id:
        where &= Q(product_id=opportunity.product_id)
    if opportunity.feature:
        where &= Q(feature=opportunity.feature)
    if opportunity.agent:
        where &= Q(agent=opportunity.agent)
    if opportunity.api_key_id:
        where &= Q(api_key_id=opportunity.api_key_id)
    totals = DailyRollup.objects.filter(where, day__gte=start, day__lte=end).aggregate(
        cost=Sum("billed_cost"), requests=Sum("requests")
    )
    return totals["cost"] or Decimal(0), int(totals["requests"] or 0)


def opportunities_visible(
    *, team_ids: list[int] | None, team: str | None = None, lever: str | None = None, status: str | None = None
) -> QuerySet[Opportunity]:
    """Opportunities a caller may read (None: the whole organisation), largest saving first."""
    rows = Opportunity.objects.select_related("team", "product", "owner", "api_key")
    if team_ids is not None:
        rows = rows.filter(team_id__in=team_ids)
    if team:
        rows = rows.filter(team__slug=team)
    if lever:
        rows = rows.filter(lever=lever)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-monthly_saving", "id")


def savings_summary() -> dict:
    """The organisation's open and accepted savings by lever (as found, overlapping) and realised
    savings. The totals that add up come from `apps.insights.combining` (the views add them)."""
    live = Opportunity.objects.filter(status__in=[Opportunity.Status.OPEN, Opportunity.Status.ACCEPTED]).exclude(
        lever=Opportunity.Lever.UNIT_COST_DRIFT
    )
    labels = dict(Opportunity.Lever.choices)
    by_lever = [
        {"lever": labels[r["lever"]], "count": r["count"], "saving": r["saving"]}
        for r in live.values("lever").annotate(count=Count("id"), saving=Sum("monthly_saving")).order_by("-saving")
    ]
    done = Opportunity.objects.filter(status=Opportunity.Status.DONE)
    return {
        "by_lever": by_lever,
        "found": live.aggregate(s=Sum("monthly_saving"))["s"] or Decimal(0),
        "realised": done.aggregate(s=Sum("realised_monthly_saving"))["s"] or Decimal(0),
        "done": list(done.select_related("team").order_by("-done_at")),
        "alerts": list(
            Opportunity.objects.filter(lever=Opportunity.Lever.UNIT_COST_DRIFT)
            .exclude(status=Opportunity.Status.DISMISSED)
            .select_related("team")
            .order_by("-monthly_saving")
        ),
    }


def can_act(user, team: Team) -> bool:
    """Leads act on their team's opportunities; staff on every team's."""
    if user.is_staff or user.is_superuser:
        return True
    return team.memberships.filter(user=user, role=TeamMembership.Role.LEAD).exists()


def team_savings(*, user, team: Team) -> dict:
    """The team page's Savings section: its opportunities by dollars, and whether the user may act."""
    from .combining import combined_savings  # combining reads this module's spend selectors

    rows = list(opportunities_visible(team_ids=[team.pk]))
    combined = combined_savings(today=timezone.now().date(), team_ids=[team.pk])
    return {
        "opportunities": rows,
        "combined": combined,
        "total": sum((r.saving for r in combined), start=Decimal(0)),
        "can_act": can_act(user, team),
    }
