"""Each split method on one day of known usage: billed cost, tokens, requests, even, fixed percentages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.services import day_refresh
from tests.factories import RuleTargetFactory, SharedCostRuleFactory

from .results import amounts

pytestmark = pytest.mark.django_db

Method = SharedCostRule.Method


def test_billed_cost_splits_in_proportion_to_billed_cost(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.BILLED_COST)

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.004500000"), "billing": Decimal("0.007500000")}


def test_tokens_splits_in_proportion_to_input_and_output_tokens(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.TOKENS)

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.009000000"), "billing": Decimal("0.003000000")}


def test_requests_splits_in_proportion_to_requests(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.REQUESTS)

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.008000000"), "billing": Decimal("0.004000000")}


def test_even_splits_equally_whatever_the_usage(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.EVEN)

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.006000000"), "billing": Decimal("0.006000000")}


def test_fixed_percent_splits_by_the_targets_percentages(usage, platform, team, other_team):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.FIXED_PERCENT, all_teams=False)
    RuleTargetFactory(rule=rule, team=team, percent=Decimal("25"))
    RuleTargetFactory(rule=rule, team=other_team, percent=Decimal("75"))

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.003000000"), "billing": Decimal("0.009000000")}


def test_fixed_percent_gives_a_target_without_usage_its_percentage(usage, platform, team, ads):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.FIXED_PERCENT, all_teams=False)
    RuleTargetFactory(rule=rule, team=team, percent=Decimal("60"))
    RuleTargetFactory(rule=rule, team=ads, percent=Decimal("40"))

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.007200000"), "ads": Decimal("0.004800000")}


@pytest.mark.parametrize("method", [Method.BILLED_COST, Method.TOKENS, Method.REQUESTS])
def test_a_target_without_usage_gets_nothing(usage, platform, ads, method):
    rule = SharedCostRuleFactory(source_team=platform, method=method)

    day_refresh(day=usage)

    assert set(amounts(rule)) == {"search", "billing"}


def test_even_gives_a_target_without_usage_its_share(usage, platform, ads):
    rule = SharedCostRuleFactory(source_team=platform, method=Method.EVEN)

    day_refresh(day=usage)

    assert amounts(rule) == dict.fromkeys(["search", "billing", "ads"], Decimal("0.004000000"))


def test_it_falls_back_to_an_even_split_when_no_target_has_usage(usage, platform, ads):
    quiet = RuleTargetFactory(rule__source_team=platform, rule__method=Method.BILLED_COST, team__slug="quiet").rule
    RuleTargetFactory(rule=quiet, team=ads)

    day_refresh(day=usage)

    assert amounts(quiet) == {"ads": Decimal("0.006000000"), "quiet": Decimal("0.006000000")}


def test_it_says_when_it_fell_back_to_an_even_split(usage, platform, ads):
    RuleTargetFactory(rule__source_team=platform, rule__method=Method.TOKENS, team=ads)

    day_refresh(day=usage)

    result = AllocationResult.objects.get()
    assert (result.method, result.fell_back_to_even, result.amount) == (Method.EVEN, True, Decimal("0.012000000"))


def test_a_split_with_usage_does_not_claim_to_have_fallen_back(usage, platform):
    SharedCostRuleFactory(source_team=platform)

    day_refresh(day=usage)

    assert set(AllocationResult.objects.values_list("method", "fell_back_to_even")) == {(Method.BILLED_COST, False)}


def test_it_keeps_the_basis_of_every_amount(usage, platform):
    SharedCostRuleFactory(source_team=platform, method=Method.BILLED_COST)

    day_refresh(day=usage)

    search = AllocationResult.objects.get(team__slug="search")
    assert (search.basis, search.basis_total, search.share) == (
        Decimal("0.009000000"),
        Decimal("0.024000000"),
        Decimal("0.375000000"),
    )
    assert (search.source_amount, search.source_team) == (Decimal("0.012000000"), platform)


def test_it_keeps_token_counts_as_the_basis_of_a_split_by_tokens(usage, platform):
    SharedCostRuleFactory(source_team=platform, method=Method.TOKENS)

    day_refresh(day=usage)

    billing = AllocationResult.objects.get(team__slug="billing")
    assert (billing.basis, billing.basis_total, billing.share) == (Decimal(1000), Decimal(4000), Decimal("0.25"))


def test_a_rule_is_applied_again_from_scratch_on_each_refresh(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform)
    day_refresh(day=usage)

    day_refresh(day=usage)

    assert AllocationResult.objects.filter(rule=rule).count() == 2
