"""Allocation invariants: each source is split to the nano, and team totals are direct plus allocated in."""

from __future__ import annotations

import calendar
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.allocation.models import AllocationResult, RuleTarget, SharedCostRule
from apps.allocation.selectors import costs_report
from apps.allocation.services import day_allocate, day_refresh
from apps.allocation.splitting import monthly_amount_for_day
from apps.pricing.fields import from_nanos, to_nanos
from apps.rollups.models import DailyRollup
from tests.factories import ApiKeyFactory, DailyRollupFactory, SharedCostRuleFactory, TeamFactory
from tests.rollups.events import event, ingest

Method = SharedCostRule.Method
Source = SharedCostRule.Source

nanos = st.integers(0, 10**12).map(lambda n: Decimal(n).scaleb(-9))
usage = st.tuples(nanos, st.integers(0, 10**9), st.integers(0, 10**6))  # billed cost, tokens, requests


@pytest.fixture
def teams(db):
    return {
        "platform": TeamFactory(slug="platform", is_shared=True),
        **{slug: TeamFactory(slug=slug) for slug in ("t1", "t2", "t3", "t4", "t5")},
    }


def _sums_by_rule_and_day() -> dict:
    sums = defaultdict(Decimal)
    for result in AllocationResult.objects.all():
        sums[(result.rule_id, result.day)] += result.amount
    return sums


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    platform_spend=nanos,
    unattributed_spend=nanos,
    monthly_amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2),
    team_usage=st.lists(st.one_of(st.none(), usage), min_size=5, max_size=5),
    method=st.sampled_from(Method.values),
    percents=st.lists(st.integers(0, 10**6), min_size=5, max_size=5),
)
def test_every_rules_amounts_sum_exactly_to_its_source_each_day(
    teams, platform_spend, unattributed_spend, monthly_amount, team_usage, method, percents
):
    # Function-scoped fixtures are shared by every example, so each example clears what it wrote.
    AllocationResult.objects.all().delete()
    DailyRollup.objects.all().delete()
    SharedCostRule.objects.all().delete()
    key = ApiKeyFactory(team=teams["t1"])
    DailyRollupFactory(api_key=key, team=teams["platform"], billed_cost=platform_spend)
    DailyRollupFactory(api_key=key, team=None, unattributed_reason="missing", billed_cost=unattributed_spend)
    for slug, figures in zip(("t1", "t2", "t3", "t4", "t5"), team_usage, strict=True):
        if figures:
            billed, tokens, requests = figures
            DailyRollupFactory(
                api_key=key, team=teams[slug], billed_cost=billed, input_tokens=tokens, requests=requests
            )
    day = DailyRollup.objects.values_list("day", flat=True).first()
    all_teams = method != Method.FIXED_PERCENT
    rules = [
        SharedCostRuleFactory(source_team=teams["platform"], method=method, all_teams=all_teams),
        SharedCostRuleFactory(source=Source.UNATTRIBUTED, source_team=None, method=method, all_teams=all_teams),
        SharedCostRuleFactory(
            source=Source.FIXED, source_team=None, monthly_amount=monthly_amount, method=method, all_teams=all_teams
        ),
    ]
    if not all_teams:
        # Percentages in 1e-4 steps that sum to exactly 100: the last team takes the rounding rest.
        steps = [w * 10**6 // max(sum(percents), 1) for w in percents]
        steps[-1] += 10**6 - sum(steps)
        for rule in rules:
            for slug, step in zip(("t1", "t2", "t3", "t4", "t5"), steps, strict=True):
                RuleTarget.objects.create(rule=rule, team=teams[slug], percent=Decimal(step).scaleb(-4))

    day_allocate(day=day)

    sums = _sums_by_rule_and_day()
    for result in AllocationResult.objects.all():
        assert sums[(result.rule_id, result.day)] == result.source_amount
    fixed_part = from_nanos(monthly_amount_for_day(to_nanos(monthly_amount), day))
    sources = {rules[0].id: platform_spend, rules[1].id: unattributed_spend, rules[2].id: fixed_part}
    assert {rule_id: sums.get((rule_id, day), Decimal(0)) for rule_id in sources} == sources


@pytest.fixture
def allocated_day(usage, platform, api_key):
    """The usage day with the platform split by billed cost, the unattributed bucket split evenly,
    and $3,775.80 a month split by requests."""
    ingest(api_key, event(day=usage, team="ghost", input_tokens=2000, output_tokens=0))
    SharedCostRuleFactory(source_team=platform)
    SharedCostRuleFactory(source=Source.UNATTRIBUTED, source_team=None, method=Method.EVEN)
    SharedCostRuleFactory(
        source=Source.FIXED, source_team=None, monthly_amount=Decimal("3775.80"), method=Method.REQUESTS
    )
    day_refresh(day=usage)
    return usage


def _report(day):
    return costs_report(start=day, end=day, group_by=["team"], filters={}, team_ids=None)


def _row(report, slug):
    return next(r for r in report.rows if r.key == {"team": slug})


def test_a_teams_total_is_its_direct_spend_plus_what_is_allocated_in(allocated_day, team):
    report = _report(allocated_day)
    search = _row(report, "search")
    allocated_in = sum(AllocationResult.objects.filter(team=team).values_list("amount", flat=True), Decimal(0))

    assert search.direct_cost == Decimal("0.009000000")
    assert search.allocated_in == allocated_in
    assert search.total == search.direct_cost + allocated_in


def test_a_shared_teams_total_is_nothing_once_its_spend_is_allocated_out(allocated_day):
    platform = _row(_report(allocated_day), "platform")

    assert (platform.direct_cost, platform.allocated_out, platform.total) == (
        Decimal("0.012000000"),
        Decimal("0.012000000"),
        Decimal("0E-9"),
    )


def test_the_unattributed_bucket_is_emptied_by_its_rule(allocated_day):
    unattributed = _row(_report(allocated_day), None)

    assert (unattributed.direct_cost, unattributed.total) == (Decimal("0.006000000"), Decimal("0E-9"))


def test_the_org_total_is_direct_spend_plus_the_fixed_amounts(allocated_day):
    report = _report(allocated_day)
    daily_fixed = Decimal("3775.80") / calendar.monthrange(allocated_day.year, allocated_day.month)[1]

    assert sum((r.total for r in report.rows), Decimal(0)) == Decimal("0.042000000") + daily_fixed
    assert report.total.total == Decimal("0.042000000") + daily_fixed
