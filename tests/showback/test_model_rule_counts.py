"""The team page shows what the gateway's model rules did to the team's calls this month."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from apps.gateway.models import ModelRule, ModelRuleHit

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-12-15 12:00Z", tick=False)
def test_the_team_page_counts_each_rules_refusals_warnings_and_clamps(as_user, lead, team, other_team):
    strict = ModelRule.objects.create(name="No Opus", denied_models="claude-opus-*")
    cap = ModelRule.objects.create(name="Short answers", max_output_tokens=512, mode=ModelRule.Mode.WARN)
    for rule, team_, day, outcome, count in [
        (strict, team, date(2026, 12, 1), "refused", 3),
        (strict, team, date(2026, 12, 14), "refused", 4),
        (strict, team, date(2026, 11, 30), "refused", 50),  # last month
        (strict, other_team, date(2026, 12, 14), "refused", 9),  # another team's calls
        (cap, team, date(2026, 12, 2), "warned", 2),
    ]:
        ModelRuleHit.objects.create(rule=rule, team=team_, day=day, outcome=outcome, count=count)

    response = as_user(lead).get("/teams/search/")

    counts = [(c.rule, c.mode, c.refused, c.warned, c.clamped) for c in response.context["model_rule_counts"]]
    assert counts == [("No Opus", "enforce", 7, 0, 0), ("Short answers", "warn", 0, 2, 0)]
    assert b'<tr data-rule="No Opus"><td>No Opus</td><td>enforce</td><td class="num">7</td>' in response.content


def test_a_team_no_rule_touched_shows_no_rules_section(as_user, lead, team):
    response = as_user(lead).get("/teams/search/")

    assert response.context["model_rule_counts"] == []
    assert b'id="model-rules"' not in response.content
