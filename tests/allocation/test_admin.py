"""The rule admin: fixed percentages must sum to 100, and a rule must say whom it splits onto."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.allocation.models import SharedCostRule

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/allocation/sharedcostrule/add/"


def _form(platform, method, targets, all_teams=False):
    data = {
        "name": "Platform by fixed shares",
        "source": SharedCostRule.Source.SHARED_TEAM,
        "source_team": platform.pk,
        "method": method,
        "effective_from": (timezone.now().date() - timedelta(days=30)).isoformat(),
        "targets-TOTAL_FORMS": len(targets),
        "targets-INITIAL_FORMS": 0,
        "targets-MIN_NUM_FORMS": 0,
        "targets-MAX_NUM_FORMS": 1000,
    }
    if all_teams:
        data["all_teams"] = "on"
    for i, (team, percent) in enumerate(targets):
        data[f"targets-{i}-team"] = team.pk
        data[f"targets-{i}-percent"] = "" if percent is None else percent
    return data


def test_fixed_percentages_that_do_not_sum_to_100_are_rejected(admin_client, platform, team, other_team):
    response = admin_client.post(
        ADD_URL, _form(platform, "fixed_percent", [(team, "60"), (other_team, "30")]), follow=False
    )

    assert response.status_code == 200
    assert "Fixed percentages must sum to 100; these sum to 90" in response.content.decode()
    assert not SharedCostRule.objects.exists()


def test_fixed_percentages_that_sum_to_100_are_saved(admin_client, platform, team, other_team):
    response = admin_client.post(ADD_URL, _form(platform, "fixed_percent", [(team, "62.5"), (other_team, "37.5")]))

    assert response.status_code == 302
    rule = SharedCostRule.objects.get()
    assert sorted((t.team.slug, str(t.percent)) for t in rule.targets.all()) == [
        ("billing", "37.5000"),
        ("search", "62.5000"),
    ]


def test_a_fixed_percentage_target_without_its_percentage_is_rejected(admin_client, platform, team, other_team):
    response = admin_client.post(ADD_URL, _form(platform, "fixed_percent", [(team, "100"), (other_team, None)]))

    assert "Give every target team its percentage." in response.content.decode()
    assert not SharedCostRule.objects.exists()


def test_a_rule_without_all_teams_needs_target_teams(admin_client, platform):
    response = admin_client.post(ADD_URL, _form(platform, "billed_cost", []))

    assert "List the target teams, or tick" in response.content.decode()
    assert not SharedCostRule.objects.exists()


def test_a_shared_team_cannot_be_a_target(admin_client, platform, team):
    response = admin_client.post(ADD_URL, _form(platform, "billed_cost", [(team, None), (platform, None)]))

    assert "A shared team cannot receive shared costs" in response.content.decode()
    assert not SharedCostRule.objects.exists()


def test_a_source_team_must_be_marked_shared(admin_client, team, other_team):
    response = admin_client.post(ADD_URL, _form(team, "billed_cost", [(other_team, None)]))

    assert "Mark the team as shared first" in response.content.decode()
    assert not SharedCostRule.objects.exists()


def test_the_rule_list_shows_monthly_amounts_as_money(admin_client):
    SharedCostRule.objects.create(
        name="Vector database",
        source="fixed",
        monthly_amount=Decimal("1300.00"),
        method="even",
        effective_from=date(2026, 1, 1),
    )
    assert "$1,300.00" in admin_client.get("/admin/allocation/sharedcostrule/").content.decode()
