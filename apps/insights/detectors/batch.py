"""Batch: standard-tier spend that is not interactive, priced at the price row's batch rate."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.db.models.functions import ExtractHour

from apps.pricing.rating import catalog

from ..models import AsyncScope, SavingsSettings, TeamCalendar
from ..repricing import tokens_cost
from ..selectors import SCOPE, event_token_groups, window
from . import SAVING, Finding, Scope, finding, money_text


def _marked_async(team_id: int, feature: str, agent: str, marks: list[AsyncScope]) -> bool:
    for m in marks:
        if m.team_id not in (None, team_id):
            continue
        if (m.feature and m.feature == feature) or (m.agent and m.agent == agent):
            return True
    return False


def _off_hours(day: date, hour: int, calendar: SavingsSettings | TeamCalendar) -> bool:
    """Whether a UTC hour of a day falls outside working hours (weekdays) on the calendar's zone."""
    local = datetime.combine(day, time(hour), tzinfo=UTC).astimezone(ZoneInfo(calendar.working_timezone))
    return local.weekday() >= 5 or not calendar.working_hours_start <= local.hour < calendar.working_hours_end


def batch_detect(today: date, config: SavingsSettings) -> list[Finding]:
    start, end = window(today)
    marks = list(AsyncScope.objects.all())
    calendars = TeamCalendar.objects.in_bulk(field_name="team_id")  # the owner's, else the organisation's
    groups = event_token_groups(
        start=start, end=end, extra={"hour": ExtractHour("timestamp")}, where=Q(service_tier="standard")
    )
    prices = catalog.get()
    scopes: dict[tuple, dict] = defaultdict(lambda: {"calls": 0, "off": 0, "now": Decimal(0), "then": Decimal(0)})
    for g in groups:
        s = scopes[(*(g.key[k] for k in SCOPE), g.provider, g.model)]
        now = tokens_cost(
            prices=prices, provider=g.provider, model=g.model, at=g.at, tokens=g.tokens, long=g.long, tier="standard"
        )
        then = tokens_cost(
            prices=prices, provider=g.provider, model=g.model, at=g.at, tokens=g.tokens, long=g.long, tier="batch"
        )
        s["calls"] += g.calls
        calendar = calendars.get(g.key["team_id"], config)
        s["off"] += g.calls if _off_hours(g.day, g.key["hour"], calendar) else 0
        s["now"] += now or 0
        s["then"] += then or 0
    findings = []
    for (team_id, product_id, feature, agent, provider, model), s in scopes.items():
        marked = _marked_async(team_id, feature, agent, marks)
        share = Decimal(s["off"]) / s["calls"]
        if s["calls"] < config.min_calls or not (marked or share >= config.batch_off_hours_share):
            continue
        scope = Scope(team_id, product_id, feature, agent, provider=provider, model=model)
        why = "is marked asynchronous" if marked else f"makes {share * 100:.0f}% of its calls outside working hours"
        findings.append(
            finding(
                lever="batch",
                scope=scope,
                saving=s["now"] - s["then"],
                config=config,
                sentence=(
                    f"{scope.subject} {why}; sent through the batch API its {s['calls']} calls to {model} would "
                    f"cost {SAVING} a month less."
                ),
                evidence={
                    "calls": s["calls"],
                    "off_hours_calls": s["off"],
                    "marked_asynchronous": marked,
                    "cost": money_text(s["now"]),
                    "cost_at_batch_rate": money_text(s["then"]),
                },
            )
        )
    return [f for f in findings if f]
