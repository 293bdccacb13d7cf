"""GET /api/v1/costs is bounded: cursor pages of capped size, and no unbounded combinations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

URL = "/api/v1/costs"


@pytest.fixture
def finance_client(finance):
    client = APIClient()
    client.force_authenticate(finance)
    return client


def _params(ledger, **params):
    return {"start": ledger.previous_month.isoformat(), "end": ledger.yesterday.isoformat(), **params}


def _keys(body):
    return [(row["team"], row["provider"]) for row in body["rows"]]


def _all_pages(client, ledger, **params):
    pages, query = [], _params(ledger, **params)
    while True:
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        if pages[-1]["next_cursor"] is None:
            return pages
        query = {**query, "cursor": pages[-1]["next_cursor"]}


def test_one_page_holds_every_row_with_no_next(finance_client, ledger):
    body = finance_client.get(URL, _params(ledger, group_by="team,provider")).json()

    assert (len(body["rows"]), body["count"], body["next"], body["next_cursor"]) == (4, 4, None, None)


def test_pages_of_one_row_walk_every_row_once_in_order(finance_client, ledger):
    whole = finance_client.get(URL, _params(ledger, group_by="team,provider")).json()

    pages = _all_pages(finance_client, ledger, group_by="team,provider", page_size=1)

    assert [len(page["rows"]) for page in pages] == [1, 1, 1, 1]
    assert [key for page in pages for key in _keys(page)] == _keys(whole)


def test_every_page_carries_the_total_over_all_pages(finance_client, ledger):
    pages = _all_pages(finance_client, ledger, group_by="team,provider", page_size=3)

    assert [page["total"]["direct_cost"] for page in pages] == ["0.022500000", "0.022500000"]
    assert [page["count"] for page in pages] == [4, 4]


def test_rows_with_equal_totals_keep_one_order(finance_client, ledger):
    first = finance_client.get(URL, _params(ledger, group_by="team,provider")).json()
    again = finance_client.get(URL, _params(ledger, group_by="team,provider")).json()

    equal = [key for key, row in zip(_keys(first), first["rows"], strict=True) if row["total"] == "0.000000000"]
    assert _keys(first) == _keys(again)
    assert equal == sorted(equal)


def test_the_next_link_asks_for_the_next_page(finance_client, ledger):
    body = finance_client.get(URL, _params(ledger, group_by="team,provider", page_size=2)).json()

    second = finance_client.get(body["next"]).json()

    assert body["next"].startswith("http://testserver/api/v1/costs?")
    assert len(second["rows"]) == 2
    assert set(_keys(second)).isdisjoint(_keys(body))


def test_a_page_size_over_the_cap_is_refused_naming_it(finance_client, ledger):
    response = finance_client.get(URL, _params(ledger, page_size=1001))

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Ask for at most 1000 rows per page."]}


def test_without_a_page_size_a_page_holds_at_most_five_hundred_rows(finance_client, ledger):
    body = finance_client.get(URL, _params(ledger, group_by="team,provider")).json()

    assert len(body["rows"]) <= 500


def test_a_forged_cursor_is_not_found_saying_so(finance_client, ledger):
    response = finance_client.get(URL, _params(ledger, cursor="eyJ0IjoiMCJ9:forged"))

    assert response.status_code == 404
    assert response.json()["detail"].startswith("Invalid cursor")


def test_a_cursor_from_another_query_is_refused(finance_client, ledger):
    body = finance_client.get(URL, _params(ledger, group_by="team,provider", page_size=1)).json()

    response = finance_client.get(URL, _params(ledger, group_by="team", cursor=body["next_cursor"]))

    assert response.status_code == 404
    assert "different query" in response.json()["detail"]


def test_customer_by_model_by_feature_over_a_long_period_is_refused(finance_client, ledger):
    params = {
        "start": (ledger.yesterday - timedelta(days=399)).isoformat(),
        "end": ledger.yesterday.isoformat(),
        "group_by": "customer,model,feature",
    }

    response = finance_client.get(URL, params)

    assert response.status_code == 400
    message = response.json()["group_by"][0]
    assert message.startswith("Grouping by customer × model × feature over 400 days")
    assert "narrow start and end, filter one of them" in message


def test_every_dimension_at_once_is_refused_even_over_a_week(finance_client, ledger):
    params = {
        "start": (ledger.yesterday - timedelta(days=6)).isoformat(),
        "end": ledger.yesterday.isoformat(),
        "group_by": "team,product,feature,environment,provider,model,customer,agent,day",
    }

    response = finance_client.get(URL, params)

    assert response.status_code == 400
    assert list(response.json()) == ["group_by"]


def test_three_many_valued_dimensions_are_allowed_over_a_month(finance_client, ledger):
    params = {
        "start": (ledger.yesterday - timedelta(days=30)).isoformat(),
        "end": ledger.yesterday.isoformat(),
        "group_by": "customer,model,feature",
    }

    assert finance_client.get(URL, params).status_code == 200


def test_filtering_one_of_them_makes_a_long_period_allowed(finance_client, ledger):
    params = {
        "start": (ledger.yesterday - timedelta(days=399)).isoformat(),
        "end": ledger.yesterday.isoformat(),
        "group_by": "customer,model,feature",
        "customer": "acme",
    }

    body = finance_client.get(URL, params).json()

    assert [(row["customer"], row["direct_cost"]) for row in body["rows"]] == [("acme", "0.009000000")]


def test_group_by_with_spaces_is_refused_naming_it(finance_client, ledger):
    response = finance_client.get(URL, _params(ledger, group_by="team, model"))

    assert response.status_code == 400
    assert "comma-separated list (no spaces)" in response.json()["group_by"][0]


def test_a_report_of_more_rows_than_the_cap_is_refused_naming_group_by(finance_client, ledger, settings):
    settings.COSTS_MAX_ROWS = 3

    response = finance_client.get(URL, _params(ledger, group_by="team,provider"))

    assert response.status_code == 400
    assert response.json() == {
        "group_by": [
            "Grouping by team × provider from start to end gives more than 3 rows: narrow start and end, "
            "filter a dimension, or drop one from group_by."
        ]
    }


def test_a_report_of_as_many_rows_as_the_cap_is_answered(finance_client, ledger, settings):
    settings.COSTS_MAX_ROWS = 4

    body = finance_client.get(URL, _params(ledger, group_by="team,provider")).json()

    assert body["count"] == 4


def test_a_filter_is_taken_as_sent_so_a_blank_one_matches_nothing(finance_client, ledger):
    body = finance_client.get(URL, _params(ledger, customer=" ")).json()

    assert (body["rows"], body["count"]) == ([], 0)
