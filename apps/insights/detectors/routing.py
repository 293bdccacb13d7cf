"""Model routing: short, routine calls sent to a model that has a cheaper sibling."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import BooleanField, Case, Q, Value, When

from apps.pricing.rating import catalog

from ..models import RoutingCandidate, SavingsSettings
from ..repricing import tokens_cost
from ..selectors import SCOPE, event_token_groups, window
from . import SAVING, Finding, Scope, finding, money_text


def routing_detect(today: date, config: SavingsSettings) -> list[Finding]:
    siblings = {(c.provider, c.model): c.cheaper_model for c in RoutingCandidate.objects.all()}
    if not siblings:
        return []
    start, end = window(today)
    models = Q()
    for provider, model in siblings:
        models |= Q(provider=provider, model=model)
    routine = Case(
        When(
            input_tokens__lte=config.routing_max_input_tokens,
            output_tokens__lte=config.routing_max_output_tokens,
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )
    groups = event_token_groups(start=start, end=end, extra={"routine": routine}, where=models)
    prices = catalog.get()
    scopes: dict[tuple, dict] = defaultdict(lambda: {"calls": 0, "routine": 0, "now": Decimal(0), "then": Decimal(0)})
    for g in groups:
        cheaper = siblings[(g.provider, g.model)]
        s = scopes[(*(g.key[k] for k in SCOPE), g.provider, g.model, cheaper)]
        s["calls"] += g.calls
        if not g.key["routine"]:
            continue
        now = tokens_cost(
            prices=prices, provider=g.provider, model=g.model, at=g.at, tokens=g.tokens, long=g.long, tier=g.tier
        )
        then = tokens_cost(
            prices=prices, provider=g.provider, model=cheaper, at=g.at, tokens=g.tokens, long=g.long, tier=g.tier
        )
        if now is None or then is None:
            s["unpriced"] = True
            continue
        s["routine"] += g.calls
        s["now"] += now
        s["then"] += then
    findings = []
    for (team_id, product_id, feature, agent, provider, model, cheaper), s in scopes.items():
        if s.get("unpriced") or s["calls"] < config.min_calls:
            continue
        if Decimal(s["routine"]) / s["calls"] < config.routing_min_routine_share:
            continue
        scope = Scope(team_id, product_id, feature, agent, provider=provider, model=model)
        findings.append(
            finding(
                lever="routing",
                scope=scope,
                saving=s["now"] - s["then"],
                config=config,
                sentence=(
                    f"{scope.subject} sends {s['routine']} of its {s['calls']} calls to {model} "
                    f"with at most {config.routing_max_input_tokens} input and {config.routing_max_output_tokens} "
                    f"output tokens; on {cheaper} the same tokens would cost {SAVING} a month less."
                ),
                evidence={
                    "calls": s["calls"],
                    "routine_calls": s["routine"],
                    "cheaper_model": cheaper,
                    "routine_cost": money_text(s["now"]),
                    "routine_cost_on_cheaper_model": money_text(s["then"]),
                },
            )
        )
    return [f for f in findings if f]
