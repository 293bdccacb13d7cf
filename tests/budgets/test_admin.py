"""The budget admin: thresholds typed as percentages, amounts shown as money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.budgets.models import Budget
from tests.factories import BudgetFactory

pytestmark = pytest.mark.django_db


def _add(admin_client, team, thresholds: str):
    return admin_client.post(
        "/admin/budgets/budget/add/",
        {
            "team": team.pk,
            "monthly_amount": "1250.00",
            "effective_from": timezone.now().date().replace(day=1).isoformat(),
            "thresholds": thresholds,
            "include_allocated": "on",
        },
    )


def test_thresholds_are_typed_as_comma_separated_percentages(admin_client, team):
    response = _add(admin_client, team, "100, 50%, 80")
    assert response.status_code == 302, response.content.decode()
    budget = Budget.objects.get(team=team)
    assert budget.thresholds == [50, 80, 100]
    assert budget.monthly_amount == Decimal("1250.00")


def test_a_threshold_that_is_not_a_percentage_is_refused_by_name(admin_client, team):
    response = _add(admin_client, team, "50, lots")
    assert response.status_code == 200
    assert "&#x27;lots&#x27; is not a whole percentage from 1 to 1000." in response.content.decode()
    assert not Budget.objects.exists()


def test_the_form_shows_thresholds_as_text_not_json(admin_client, team):
    budget = BudgetFactory(team=team)
    html = admin_client.get(f"/admin/budgets/budget/{budget.pk}/change/").content.decode()
    assert 'value="50, 80, 100"' in html


def test_the_budget_list_shows_money_and_percentages(admin_client, team):
    BudgetFactory(team=team, monthly_amount=Decimal("1250.00"))
    html = admin_client.get("/admin/budgets/budget/").content.decode()
    assert "$1,250.00" in html
    assert "50%, 80%, 100%" in html
