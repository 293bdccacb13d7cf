"""Sources of a shared cost: a shared team's spend, the unattributed bucket, a fixed monthly amount."""

from __future__ import annotations

import calendar
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.services import day_allocate, day_refresh
from apps.org.models import Environment
from tests.factories import ProductFactory, SharedCostRuleFactory
from tests.rollups.events import days_ago, event, ingest

from .results import amounts

pytestmark = pytest.mark.django_db

Source = SharedCostRule.Source


def _source_amount(rule) -> Decimal:
    return AllocationResult.objects.filter(rule=rule).values_list("source_amount", flat=True).distinct().get()


def test_a_shared_team_source_is_that_teams_direct_spend_that_day(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform)

    day_refresh(day=usage)

    assert _source_amount(rule) == Decimal("0.012000000")


def test_an_unattributed_source_is_the_spend_without_a_known_team(usage, api_key):
    ingest(
        api_key,
        event(day=usage, input_tokens=1000, output_tokens=0),
        event(day=usage, team="ghost", input_tokens=2000, output_tokens=0),
    )
    rule = SharedCostRuleFactory(source=Source.UNATTRIBUTED, source_team=None)

    day_refresh(day=usage)

    assert _source_amount(rule) == Decimal("0.009000000")
    assert amounts(rule) == {"search": Decimal("0.003375000"), "billing": Decimal("0.005625000")}


def test_an_unattributed_source_comes_out_of_no_team(usage, api_key):
    ingest(api_key, event(day=usage))
    SharedCostRuleFactory(source=Source.UNATTRIBUTED, source_team=None)

    day_refresh(day=usage)

    assert set(AllocationResult.objects.values_list("source_team", flat=True)) == {None}


def test_a_fixed_source_splits_the_days_part_of_the_monthly_amount(usage):
    # 3,775.80 divides exactly into 28, 29, 30 and 31 days, so the day's part is known whatever the month.
    rule = SharedCostRuleFactory(source=Source.FIXED, source_team=None, monthly_amount=Decimal("3775.80"))
    daily = Decimal("3775.80") / calendar.monthrange(usage.year, usage.month)[1]

    day_refresh(day=usage)

    assert _source_amount(rule) == daily
    assert amounts(rule) == {"search": daily * Decimal("0.375"), "billing": daily * Decimal("0.625")}


def test_a_fixed_source_accrues_on_a_day_without_usage_split_evenly(usage, team, other_team):
    rule = SharedCostRuleFactory(source=Source.FIXED, source_team=None, monthly_amount=Decimal("3775.80"))
    quiet_day = days_ago(2)

    day_allocate(day=quiet_day)

    daily = Decimal("3775.80") / calendar.monthrange(quiet_day.year, quiet_day.month)[1]
    assert amounts(rule) == {"search": daily / 2, "billing": daily / 2}
    assert set(AllocationResult.objects.values_list("fell_back_to_even", flat=True)) == {True}


def test_a_product_filter_takes_only_the_sources_spend_on_that_product(usage, api_key, platform):
    retrieval = ProductFactory(slug="retrieval", team=platform)
    ingest(api_key, event(day=usage, team="platform", product="retrieval", input_tokens=1000, output_tokens=0))
    rule = SharedCostRuleFactory(source_team=platform, product=retrieval)

    day_refresh(day=usage)

    assert _source_amount(rule) == Decimal("0.003000000")


def test_an_environment_filter_takes_only_the_sources_spend_there(usage, api_key, platform):
    ingest(api_key, event(day=usage, team="platform", environment="staging", input_tokens=2000, output_tokens=0))
    rule = SharedCostRuleFactory(source_team=platform, environment=Environment.objects.get(slug="staging"))

    day_refresh(day=usage)

    assert _source_amount(rule) == Decimal("0.006000000")


def test_a_source_with_nothing_to_split_allocates_nothing(usage, platform, api_key):
    retrieval = ProductFactory(slug="retrieval", team=platform)
    SharedCostRuleFactory(source_team=platform, product=retrieval)

    day_refresh(day=usage)

    assert not AllocationResult.objects.exists()


def test_a_fixed_source_cannot_be_narrowed_to_a_product(team):
    rule = SharedCostRule(
        name="Vector database",
        source=SharedCostRule.Source.FIXED,
        monthly_amount=Decimal("450.00"),
        product=ProductFactory(slug="answers", team=team),
        effective_from=days_ago(1),
    )

    with pytest.raises(ValidationError, match="no product or environment to narrow to"):
        rule.full_clean()
