"""Two rules may not split the same dollars: overlapping rules on one source are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from apps.allocation.models import SharedCostRule
from tests.factories import ProductFactory, SharedCostRuleFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def existing():
    return SharedCostRuleFactory(name="Platform by billed cost")


def _refusals(rule: SharedCostRule) -> dict:
    """What full_clean refuses of the rule, by field ({} when it is accepted), beside the overlaps."""
    try:
        rule.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {"overlapping": list(rule.overlapping_rules())} if rule.overlapping_rules().exists() else {}


def _second(existing, **fields) -> SharedCostRule:
    values = {
        "name": "Another split",
        "source": existing.source,
        "source_team": existing.source_team,
        "method": SharedCostRule.Method.EVEN,
        "effective_from": existing.effective_from,
        **fields,
    }
    return SharedCostRule(**values)


def test_a_second_rule_on_the_same_spend_and_days_is_refused(existing):
    source = _refusals(_second(existing))["source"][0]

    assert "Platform by billed cost" in source
    assert "allocated twice" in source


def test_a_rule_starting_after_the_other_ended_is_accepted(existing):
    existing.effective_until = existing.effective_from + timedelta(days=30)
    existing.save()
    assert _refusals(_second(existing, effective_from=existing.effective_until + timedelta(days=1))) == {}


def test_rules_on_two_different_products_of_the_same_team_are_accepted(existing):
    existing.product = ProductFactory(slug="answers", team=existing.source_team)
    existing.save()
    assert _refusals(_second(existing, product=ProductFactory(slug="crawler", team=existing.source_team))) == {}


def test_a_product_rule_overlaps_a_rule_for_all_products(existing):
    with pytest.raises(ValidationError):
        _second(existing, product=ProductFactory(slug="answers", team=existing.source_team)).full_clean()


def test_a_rule_on_another_shared_team_is_accepted(existing):
    other = TeamFactory(slug="data-platform", is_shared=True)
    assert _refusals(_second(existing, source_team=other)) == {}


def test_editing_a_rule_does_not_count_itself_as_an_overlap(existing):
    existing.method = SharedCostRule.Method.REQUESTS
    assert _refusals(existing) == {}
