"""GET /api/v1/costs: rollups and allocations grouped by any dimension, with an exact grand total."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/costs"
MONEY = ("list_cost", "direct_cost", "allocated_in", "allocated_out", "total")


@pytest.fixture
def finance_client(finance):
    client = APIClient()
    client.force_authenticate(finance)
    return client


def _params(ledger, **params):
    return {"start": ledger.previous_month.isoformat(), "end": ledger.yesterday.isoformat(), **params}


def _get(client, ledger, **params):
    response = client.get(URL, _params(ledger, **params))
    assert response.status_code == 200, response.content
    return response.json()


def _direct(body, dimension):
    return {row[dimension]: row["direct_cost"] for row in body["rows"]}


def test_it_reports_a_teams_row_in_decimal_strings(finance_client, allocated_ledger):
    body = _get(finance_client, allocated_ledger, group_by="team")

    assert next(row for row in body["rows"] if row["team"] == "search") == {
        "team": "search",
        "requests": 2,
        "input_tokens": 2000,
        "output_tokens": 200,
        "list_cost": "0.009000000",
        "direct_cost": "0.009000000",
        "allocated_in": "0.009000000",
        "allocated_out": "0.000000000",
        "total": "0.018000000",
    }


def test_it_shows_a_shared_teams_spend_allocated_out(finance_client, allocated_ledger):
    body = _get(finance_client, allocated_ledger, group_by="team")

    platform = next(row for row in body["rows"] if row["team"] == "platform")
    assert (platform["direct_cost"], platform["allocated_out"], platform["total"]) == (
        "0.012000000",
        "0.012000000",
        "0.000000000",
    )


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("team", {"search": "0.009000000", "billing": "0.001500000", "platform": "0.012000000"}),
        ("product", {"search-ui": "0.009000000", "invoices": "0.001500000", "retrieval": "0.012000000"}),
        ("feature", {"autocomplete": "0.009000000", "dunning": "0.001500000", "embeddings": "0.012000000"}),
        ("environment", {"production": "0.021000000", "staging": "0.001500000"}),
        ("provider", {"anthropic": "0.022500000", "openai": "0.000000000"}),
        ("model", {"test-model": "0.021000000", "other-model": "0.001500000", "gpt-x": "0.000000000"}),
        ("customer", {"acme": "0.009000000", "globex": "0.001500000", "": "0.012000000"}),
        ("agent", {"ranker": "0.009000000", "collector": "0.001500000", "": "0.012000000"}),
    ],
)
def test_it_groups_direct_cost_by_any_dimension(finance_client, ledger, dimension, expected):
    body = _get(finance_client, ledger, group_by=dimension)

    assert body["group_by"] == [dimension]
    assert _direct(body, dimension) == expected


def test_it_groups_by_day(finance_client, ledger):
    body = _get(finance_client, ledger, group_by="day")

    assert _direct(body, "day") == {
        ledger.previous_month.isoformat(): "0.004500000",
        ledger.yesterday.isoformat(): "0.018000000",
    }


def test_it_groups_by_month_keyed_by_year_and_month(finance_client, ledger):
    body = _get(finance_client, ledger, group_by="month")

    assert _direct(body, "month") == {
        ledger.previous_month.strftime("%Y-%m"): "0.004500000",
        ledger.yesterday.strftime("%Y-%m"): "0.018000000",
    }


def test_it_puts_allocations_in_the_month_they_happened(finance_client, allocated_ledger):
    body = _get(finance_client, allocated_ledger, group_by="team,month")

    search = {row["month"]: row["allocated_in"] for row in body["rows"] if row["team"] == "search"}
    assert search == {
        allocated_ledger.previous_month.strftime("%Y-%m"): "0.000000000",
        allocated_ledger.yesterday.strftime("%Y-%m"): "0.009000000",
    }


def test_it_groups_by_several_dimensions_at_once(finance_client, ledger):
    body = _get(finance_client, ledger, group_by="team,provider")

    assert {(row["team"], row["provider"]): row["requests"] for row in body["rows"]} == {
        ("search", "anthropic"): 2,
        ("billing", "anthropic"): 1,
        ("billing", "openai"): 1,
        ("platform", "anthropic"): 1,
    }


def test_it_groups_by_team_unless_told_otherwise(finance_client, ledger):
    body = _get(finance_client, ledger)

    assert body["group_by"] == ["team"]
    assert {row["team"] for row in body["rows"]} == {"search", "billing", "platform"}


def test_it_counts_only_the_days_asked_for(finance_client, ledger):
    body = _get(finance_client, ledger, start=ledger.yesterday.isoformat(), group_by="team")

    assert _direct(body, "team")["search"] == "0.004500000"


@pytest.mark.parametrize(
    ("filters", "dimension", "expected"),
    [
        ({"model": "test-model"}, "team", {"search": "0.009000000", "platform": "0.012000000"}),
        ({"team": "billing"}, "provider", {"anthropic": "0.001500000", "openai": "0.000000000"}),
        ({"environment": "staging"}, "team", {"billing": "0.001500000"}),
        ({"customer": "acme", "agent": "ranker"}, "team", {"search": "0.009000000"}),
    ],
)
def test_it_filters_on_any_dimension(finance_client, ledger, filters, dimension, expected):
    body = _get(finance_client, ledger, group_by=dimension, **filters)

    assert _direct(body, dimension) == expected


def test_a_team_filter_keeps_that_teams_allocations(finance_client, allocated_ledger):
    body = _get(finance_client, allocated_ledger, team="search")

    assert [(row["team"], row["allocated_in"], row["total"]) for row in body["rows"]] == [
        ("search", "0.009000000", "0.018000000")
    ]


def test_a_filter_on_another_dimension_leaves_allocations_out(finance_client, allocated_ledger):
    body = _get(finance_client, allocated_ledger, product="search-ui")

    assert [(row["team"], row["allocated_in"], row["total"]) for row in body["rows"]] == [
        ("search", "0.000000000", "0.009000000")
    ]


@pytest.mark.parametrize("group_by", ["team", "team,day", "model", "product,month", "customer,agent,environment"])
def test_the_grand_total_is_the_exact_sum_of_the_rows(finance_client, allocated_ledger, group_by):
    body = _get(finance_client, allocated_ledger, group_by=group_by)

    for name in MONEY:
        assert Decimal(body["total"][name]) == sum(Decimal(row[name]) for row in body["rows"])
    for name in ("requests", "input_tokens", "output_tokens"):
        assert body["total"][name] == sum(row[name] for row in body["rows"])


def test_the_grand_total_is_direct_spend_with_allocations_netting_out(finance_client, allocated_ledger):
    body = _get(finance_client, allocated_ledger)

    assert {name: body["total"][name] for name in MONEY} == {
        "list_cost": "0.022500000",
        "direct_cost": "0.022500000",
        "allocated_in": "0.012000000",
        "allocated_out": "0.012000000",
        "total": "0.022500000",
    }


def test_an_empty_period_has_no_rows_and_a_zero_total(finance_client, ledger):
    day = (ledger.previous_month.replace(day=1)).isoformat()
    body = _get(finance_client, ledger, start=day, end=day)

    assert (body["rows"], body["total"]["total"]) == ([], "0.000000000")


def test_an_unknown_dimension_is_refused_naming_group_by(finance_client, ledger):
    response = finance_client.get(URL, _params(ledger, group_by="team,colour"))

    assert response.status_code == 400
    assert "colour" in response.json()["group_by"][0]


def test_a_misspelt_filter_is_refused_rather_than_ignored(finance_client, ledger):
    response = finance_client.get(URL, _params(ledger, teams="search"))

    assert response.status_code == 400
    assert list(response.json()) == ["teams"]


@pytest.mark.parametrize("value", ["a\x00b", "x" * 129])
def test_a_filter_value_that_names_nothing_is_refused_naming_it(finance_client, ledger, value):
    response = finance_client.get(URL, _params(ledger, customer=value))

    assert response.status_code == 400
    assert list(response.json()) == ["customer"]


def test_an_end_before_the_start_is_refused(finance_client, ledger):
    response = finance_client.get(URL, {"start": ledger.yesterday.isoformat(), "end": ledger.previous_month})

    assert response.status_code == 400
    assert response.json()["end"] == ["Must not be before start."]


def test_a_missing_start_is_refused(finance_client, ledger):
    response = finance_client.get(URL, {"end": ledger.yesterday.isoformat()})

    assert response.status_code == 400
    assert "start" in response.json()


def _teams_seen(client, ledger):
    response = client.get(URL, _params(ledger, group_by="team"))
    assert response.status_code == 200, response.content
    return {row["team"]: row["total"] for row in response.json()["rows"]}


def test_a_teams_key_sees_only_its_team_with_what_is_allocated_in(key_client, allocated_ledger):
    assert _teams_seen(key_client, allocated_ledger) == {"search": "0.018000000"}


def test_a_shared_teams_key_sees_its_spend_allocated_out(allocated_ledger, platform):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(team=platform).raw_key}")

    body = _get(client, allocated_ledger)

    assert [(row["team"], row["allocated_out"], row["total"]) for row in body["rows"]] == [
        ("platform", "0.012000000", "0.000000000")
    ]


def test_a_teams_key_total_covers_only_its_team(key_client, allocated_ledger):
    body = _get(key_client, allocated_ledger)

    assert (body["total"]["direct_cost"], body["total"]["allocated_out"]) == ("0.009000000", "0.000000000")


@pytest.mark.parametrize("person", ["lead", "member"])
def test_a_team_lead_or_member_sees_their_team(request, allocated_ledger, person):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(person))

    assert _teams_seen(client, allocated_ledger) == {"search": "0.018000000"}


@pytest.mark.parametrize("person", ["finance", "admin_user"])
def test_finance_and_staff_see_every_team(request, allocated_ledger, person):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(person))

    assert _teams_seen(client, allocated_ledger) == {
        "search": "0.018000000",
        "billing": "0.004500000",
        "platform": "0.000000000",
    }


def test_someone_in_no_team_is_refused(outsider, ledger):
    client = APIClient()
    client.force_authenticate(outsider)

    assert client.get(URL, _params(ledger)).status_code == 403


def test_an_anonymous_caller_is_refused(anon_client, ledger):
    assert anon_client.get(URL, _params(ledger)).status_code == 401


def test_a_period_of_400_days_or_more_is_refused(finance_client, ledger):
    start = ledger.yesterday - timedelta(days=400)
    response = finance_client.get(URL, {"start": start.isoformat(), "end": ledger.yesterday.isoformat()})

    assert response.status_code == 400
    assert response.json()["end"] == ["Ask for at most 400 days at a time."]


def test_a_filter_sent_empty_is_refused_rather_than_read_as_absent(key_client):
    response = key_client.get("/api/v1/costs", {"start": "2026-11-01", "end": "2026-11-02", "team": ""})
    assert (response.status_code, response.json()) == (400, {"team": ["May not be blank: leave it out instead."]})
