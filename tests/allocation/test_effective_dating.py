"""Rules apply from effective_from to effective_until, both days included, and not outside them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.services import day_refresh
from tests.factories import SharedCostRuleFactory

pytestmark = pytest.mark.django_db


def test_a_rule_is_not_applied_before_it_takes_effect(usage, platform):
    SharedCostRuleFactory(source_team=platform, effective_from=usage + timedelta(days=1))

    day_refresh(day=usage)

    assert not AllocationResult.objects.exists()


def test_a_rule_is_not_applied_after_it_ends(usage, platform):
    SharedCostRuleFactory(
        source_team=platform, effective_from=usage - timedelta(days=30), effective_until=usage - timedelta(days=1)
    )

    day_refresh(day=usage)

    assert not AllocationResult.objects.exists()


def test_a_rule_applies_on_its_first_and_last_day(usage, platform):
    rule = SharedCostRuleFactory(source_team=platform, effective_from=usage, effective_until=usage)

    day_refresh(day=usage)

    assert AllocationResult.objects.filter(rule=rule).count() == 2


def test_only_the_rule_version_in_force_that_day_is_applied(usage, platform):
    SharedCostRuleFactory(
        source_team=platform,
        method=SharedCostRule.Method.EVEN,
        effective_from=usage - timedelta(days=30),
        effective_until=usage - timedelta(days=1),
    )
    current = SharedCostRuleFactory(source_team=platform, effective_from=usage)

    day_refresh(day=usage)

    assert set(AllocationResult.objects.values_list("rule", flat=True)) == {current.id}
