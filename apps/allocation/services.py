"""Applying shared-cost rules to a day's rollups, and the pipeline step that refreshes a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, Sum

from apps.org.models import Team
from apps.pricing.fields import from_nanos, to_nanos
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_lock, day_rebuild
from apps.usage.models import DirtyMark
from apps.usage.selectors import month_is_closed, open_from

from .models import AllocationResult, RuleTarget, SharedCostRule
from .splitting import monthly_amount_for_day, split_largest_remainder

Method = SharedCostRule.Method


@dataclass(frozen=True)
class TeamUsage:
    billed_cost: Decimal
    tokens: int
    requests: int

    def basis(self, method: str) -> Decimal:
        return {
            Method.BILLED_COST: self.billed_cost,
            Method.TOKENS: Decimal(self.tokens),
            Method.REQUESTS: Decimal(self.requests),
        }[method]


def _team_usage(day: date) -> dict[int, TeamUsage]:
    rows = (
        DailyRollup.objects.filter(day=day, team__isnull=False)
        .values("team_id")
        .annotate(
            billed=Sum("billed_cost"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
            requests=Sum("requests"),
        )
    )
    return {r["team_id"]: TeamUsage(r["billed"], r["tokens"], r["requests"]) for r in rows}


def _source_nanos(rule: SharedCostRule, day: date) -> int:
    if rule.source == SharedCostRule.Source.FIXED:
        return monthly_amount_for_day(to_nanos(rule.monthly_amount), day)
    rollups = DailyRollup.objects.filter(day=day)
    if rule.source == SharedCostRule.Source.SHARED_TEAM:
        rollups = rollups.filter(team_id=rule.source_team_id)
    else:
        rollups = rollups.filter(team__isnull=True)
    if rule.product_id:
        rollups = rollups.filter(product_id=rule.product_id)
    if rule.environment_id:
        rollups = rollups.filter(environment_id=rule.environment_id)
    total = rollups.aggregate(total=Sum("billed_cost"))["total"]
    return to_nanos(total) if total else 0


def _targets(rule: SharedCostRule, teams: dict[int, Team]) -> dict[int, Decimal | None]:
    """Target team id → fixed percent (None unless the method is fixed percentages)."""
    if rule.all_teams:
        return {team_id: None for team_id, team in teams.items() if not team.is_shared}
    return {t.team_id: t.percent for t in rule.targets.all() if not teams[t.team_id].is_shared}


def _rule_results(
    rule: SharedCostRule, day: date, usage: dict[int, TeamUsage], teams: dict[int, Team]
) -> list[AllocationResult]:
    source = _source_nanos(rule, day)
    targets = _targets(rule, teams)
    if source <= 0 or not targets:
        return []
    method, fell_back = rule.method, False
    if method == Method.FIXED_PERCENT:
        weights = {team_id: percent or Decimal(0) for team_id, percent in targets.items()}
    elif method == Method.EVEN:
        weights = dict.fromkeys(targets, Decimal(1))
    else:
        weights = {team_id: usage[team_id].basis(method) if team_id in usage else Decimal(0) for team_id in targets}
    if not any(weights.values()):
        # No target used anything this day: split evenly, and record that the split fell back.
        method, fell_back = Method.EVEN, True
        weights = dict.fromkeys(targets, Decimal(1))
    positive = {team_id: w for team_id, w in weights.items() if w > 0}
    parts = split_largest_remainder(source, positive, {team_id: teams[team_id].slug for team_id in positive})
    basis_total = sum(positive.values())
    return [
        AllocationResult(
            day=day,
            rule=rule,
            team_id=team_id,
            source_team_id=rule.source_team_id,
            method=method,
            fell_back_to_even=fell_back,
            amount=from_nanos(amount),
            source_amount=from_nanos(source),
            basis=positive[team_id],
            basis_total=basis_total,
            share=(positive[team_id] / basis_total).quantize(Decimal("0.000000001")),
        )
        for team_id, amount in parts.items()
    ]


def rules_in_force(day: date):
    return (
        SharedCostRule.objects.filter(effective_from__lte=day)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=day))
        .select_related("source_team")
        .prefetch_related("targets")
    )


@transaction.atomic
def day_allocate(*, day: date) -> int:
    """Replace the day's allocation results by applying every rule in force that day; a day of
    a closed month keeps the results it had."""
    day_lock(day)
    if month_is_closed(day):
        return 0
    AllocationResult.objects.filter(day=day).delete()
    usage = _team_usage(day)
    teams = Team.objects.in_bulk()
    results = [result for rule in rules_in_force(day) for result in _rule_results(rule, day, usage, teams)]
    AllocationResult.objects.bulk_create(results)
    return len(results)


@transaction.atomic
def day_refresh(*, day: date) -> None:
    """Rebuild the day's rollups, then split its shared costs on the fresh rows, as one step."""
    day_rebuild(day=day)
    day_allocate(day=day)


def days_allocate_on_commit(*, start: date, end: date) -> None:
    """Queue the days' re-allocation for when the caller's transaction commits: a worker starting
    earlier would read the rules as they were."""
    from .tasks import allocate_days

    transaction.on_commit(lambda: allocate_days.delay(start.isoformat(), end.isoformat()))


def rule_changed(*, rule: SharedCostRule, today: date) -> None:
    """A saved rule re-allocates the open months after the last closed one (from the rule's start,
    when later); day_allocate leaves closed days alone anyway."""
    days_allocate_on_commit(start=max(filter(None, [rule.effective_from, open_from()])), end=today)


# The fields that decide how a rule splits (its name and dates do not).
SPLIT_FIELDS = ("source", "source_team", "monthly_amount", "product", "environment", "method", "all_teams")


@transaction.atomic
def rule_keep_closed_months(
    *, rule: SharedCostRule, before: SharedCostRule, before_targets: list[RuleTarget], month_start: date | None
) -> SharedCostRule | None:
    """After `rule` was edited, keep the months before `month_start` (the day after the last closed
    month, apps.usage.selectors.open_from) as they were allocated: a copy of the rule as it was
    (`before`, with its targets) takes those days and their results, and the edited rule applies
    from `month_start`. None when no month is closed or the rule had no day before it."""
    if month_start is None or before.effective_from >= month_start:
        return None
    before.pk = None
    before.effective_until = month_start - timedelta(days=1)
    before.save()
    RuleTarget.objects.bulk_create(
        RuleTarget(rule=before, team_id=t.team_id, percent=t.percent) for t in before_targets
    )
    AllocationResult.objects.filter(rule=rule, day__lt=month_start).update(rule=before)
    rule.effective_from = month_start
    rule.save(update_fields=["effective_from"])
    return before


@transaction.atomic
def dirty_day_refresh(*, day: date) -> bool:
    """Refresh the day if it is still dirty once its lock is held. Beat queues every dirty day each
    minute; a task queued by an earlier tick finds the day rebuilt already and does nothing."""
    day_lock(day)
    if not DirtyMark.objects.filter(day=day).exists():
        return False
    day_refresh(day=day)
    return True


def days_in_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
