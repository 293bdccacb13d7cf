"""Targets of a rule: every team that is not shared, or the teams it lists."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.allocation.models import AllocationResult
from apps.allocation.services import day_refresh
from tests.factories import RuleTargetFactory, SharedCostRuleFactory, TeamFactory
from tests.rollups.events import event, ingest

from .results import amounts

pytestmark = pytest.mark.django_db


def test_all_teams_means_every_team_that_is_not_shared(usage, platform, api_key):
    TeamFactory(slug="data", is_shared=True)
    ingest(api_key, event(day=usage, team="data"))
    rule = SharedCostRuleFactory(source_team=platform)

    day_refresh(day=usage)

    assert set(amounts(rule)) == {"search", "billing"}


def test_a_chosen_list_gives_the_whole_source_to_the_teams_listed(usage, platform, other_team):
    rule = RuleTargetFactory(rule__source_team=platform, team=other_team).rule

    day_refresh(day=usage)

    assert amounts(rule) == {"billing": Decimal("0.012000000")}


def test_a_chosen_list_splits_between_the_listed_teams_only(usage, platform, team, other_team, ads):
    rule = RuleTargetFactory(rule__source_team=platform, team=team).rule
    RuleTargetFactory(rule=rule, team=other_team)

    day_refresh(day=usage)

    assert amounts(rule) == {"search": Decimal("0.004500000"), "billing": Decimal("0.007500000")}


def test_a_shared_team_in_a_chosen_list_receives_nothing(usage, platform, other_team):
    rule = RuleTargetFactory(rule__source_team=platform, team=other_team).rule
    RuleTargetFactory(rule=rule, team=TeamFactory(slug="data", is_shared=True))

    day_refresh(day=usage)

    assert set(amounts(rule)) == {"billing"}


def test_a_rule_without_targets_allocates_nothing(usage, platform):
    SharedCostRuleFactory(source_team=platform, all_teams=False)

    day_refresh(day=usage)

    assert not AllocationResult.objects.exists()
