"""GET /api/v1/allocations?month=YYYY-MM: every allocated amount with its rule, method and basis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from apps.allocation.services import day_refresh
from tests.factories import RuleTargetFactory
from tests.rollups.events import event, ingest, refresh_dirty_days

pytestmark = pytest.mark.django_db

URL = "/api/v1/allocations"


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _month(day) -> str:
    return day.strftime("%Y-%m")


def _lines(client, month):
    response = client.get(URL, {"month": month})
    assert response.status_code == 200, response.content
    assert response.json()["month"] == month
    return response.json()["allocations"]


def test_it_lists_each_amount_with_its_rule_method_and_basis(finance, allocated_ledger):
    lines = _lines(_client(finance), _month(allocated_ledger.yesterday))

    assert lines == [
        {
            "rule": "Platform by billed cost",
            "source": "shared_team",
            "source_team": "platform",
            "team": "billing",
            "method": "billed_cost",
            "amount": "0.003000000",
            "source_amount": "0.012000000",
            "basis": "0.001500000",
            "basis_total": "0.006000000",
            "share": "0.250000",
            "days_fell_back": 0,
            "days": [
                {
                    "day": allocated_ledger.yesterday.isoformat(),
                    "amount": "0.003000000",
                    "source_amount": "0.012000000",
                    "basis": "0.001500000",
                    "basis_total": "0.006000000",
                    "share": "0.250000000",
                    "fell_back_to_even": False,
                }
            ],
        },
        {
            "rule": "Platform by billed cost",
            "source": "shared_team",
            "source_team": "platform",
            "team": "search",
            "method": "billed_cost",
            "amount": "0.009000000",
            "source_amount": "0.012000000",
            "basis": "0.004500000",
            "basis_total": "0.006000000",
            "share": "0.750000",
            "days_fell_back": 0,
            "days": [
                {
                    "day": allocated_ledger.yesterday.isoformat(),
                    "amount": "0.009000000",
                    "source_amount": "0.012000000",
                    "basis": "0.004500000",
                    "basis_total": "0.006000000",
                    "share": "0.750000000",
                    "fell_back_to_even": False,
                }
            ],
        },
    ]


def test_it_adds_up_the_days_of_the_month(finance, allocated_ledger, api_key):
    # The last two days of the previous month: platform spends $0.003 and $0.006, search alone uses anything.
    last, before_last = allocated_ledger.previous_month, allocated_ledger.previous_month - timedelta(days=1)
    ingest(
        api_key,
        event(day=last, team="platform", input_tokens=1000, output_tokens=0),
        event(day=before_last, team="platform", input_tokens=2000, output_tokens=0),
        event(day=before_last, team="search"),
    )
    refresh_dirty_days()

    [line] = _lines(_client(finance), _month(last))

    assert (line["team"], line["amount"], line["source_amount"], line["share"]) == (
        "search",
        "0.009000000",
        "0.009000000",
        "1.000000",
    )
    assert (line["basis"], line["basis_total"]) == ("0.009000000", "0.009000000")


def test_fixed_percentages_over_several_days_show_the_percentage_not_its_sum(
    finance, ledger, platform, team, other_team, api_key
):
    rule = RuleTargetFactory(
        rule__name="Platform 70/30", rule__source_team=platform, rule__method="fixed_percent", team=team, percent=70
    ).rule
    RuleTargetFactory(rule=rule, team=other_team, percent=30)
    last, before_last = ledger.previous_month, ledger.previous_month - timedelta(days=1)
    ingest(
        api_key,
        event(day=last, team="platform", input_tokens=2000, output_tokens=0),
        event(day=before_last, team="platform", input_tokens=2000, output_tokens=0),
    )
    refresh_dirty_days()

    lines = {line["team"]: line for line in _lines(_client(finance), _month(last))}

    search = lines["search"]
    assert (search["basis"], search["basis_total"], len(search["days"])) == ("70.000000000", "100.000000000", 2)
    assert (search["amount"], search["source_amount"], search["share"]) == ("0.008400000", "0.012000000", "0.700000")


def test_it_counts_the_days_a_split_fell_back_to_even(finance, ledger, platform, ads):
    RuleTargetFactory(rule__name="Platform onto ads", rule__source_team=platform, team=ads)
    day_refresh(day=ledger.yesterday)

    [line] = _lines(_client(finance), _month(ledger.yesterday))

    # The line names the method as applied, so its basis figures are of that method.
    assert (line["team"], line["method"], line["amount"], line["days_fell_back"]) == (
        "ads",
        "even",
        "0.012000000",
        1,
    )


def test_a_month_without_allocations_lists_nothing(finance, allocated_ledger):
    assert _lines(_client(finance), _month(allocated_ledger.previous_month)) == []


def test_a_teams_key_sees_only_its_teams_lines(key_client, allocated_ledger):
    lines = _lines(key_client, _month(allocated_ledger.yesterday))

    assert [(line["team"], line["amount"]) for line in lines] == [("search", "0.009000000")]


def test_a_team_lead_sees_their_teams_lines(lead, allocated_ledger):
    lines = _lines(_client(lead), _month(allocated_ledger.yesterday))

    assert [line["team"] for line in lines] == ["search"]


def test_staff_see_every_teams_lines(admin_user, allocated_ledger):
    lines = _lines(_client(admin_user), _month(allocated_ledger.yesterday))

    assert [line["team"] for line in lines] == ["billing", "search"]


def test_someone_in_no_team_is_refused(outsider, allocated_ledger):
    response = _client(outsider).get(URL, {"month": _month(allocated_ledger.yesterday)})

    assert response.status_code == 403


def test_an_anonymous_caller_is_refused(anon_client, allocated_ledger):
    assert anon_client.get(URL, {"month": _month(allocated_ledger.yesterday)}).status_code == 401


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "November", "2026-11-01", "", "0000-01"])
def test_a_malformed_month_is_refused(finance, month):
    response = _client(finance).get(URL, {"month": month})

    assert response.status_code == 400
    assert "month" in response.json()


def test_a_missing_month_is_refused(finance):
    response = _client(finance).get(URL)

    assert response.status_code == 400
    assert "month" in response.json()
