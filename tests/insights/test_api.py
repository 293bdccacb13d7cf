from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.insights.models import Opportunity
from apps.insights.services import opportunity_accept
from tests.factories import OpportunityFactory

URL = "/api/v1/opportunities"


@pytest.fixture
def opportunities(team, other_team):
    return {
        "ours": OpportunityFactory(team=team, monthly_saving=Decimal("12.5")),
        "ours_caching": OpportunityFactory(team=team, lever="caching", monthly_saving=Decimal("40")),
        "theirs": OpportunityFactory(team=other_team, monthly_saving=Decimal("7")),
    }


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_member_reads_only_their_teams_opportunities_largest_first(member, opportunities):
    response = _client(member).get(URL)

    assert response.status_code == 200
    assert [(r["team"], r["lever"], r["monthly_saving"]) for r in response.json()] == [
        ("search", "caching", "40.000000000"),
        ("search", "routing", "12.500000000"),
    ]


def test_finance_reads_the_whole_organisation(finance, opportunities):
    response = _client(finance).get(URL)

    assert {r["team"] for r in response.json()} == {"search", "billing"}


def test_an_api_key_reads_its_own_team(key_client, opportunities):
    response = key_client.get(URL)

    assert {r["team"] for r in response.json()} == {"search"}


def test_an_outsider_is_refused(outsider, opportunities):
    assert _client(outsider).get(URL).status_code == 403


def test_an_anonymous_caller_is_refused(anon_client, opportunities):
    response = anon_client.get(URL)

    assert (response.status_code, response["WWW-Authenticate"]) == (401, 'Bearer realm="api"')


def test_it_filters_by_team_lever_and_status(admin_user, opportunities):
    client = _client(admin_user)

    assert [r["id"] for r in client.get(URL, {"team": "billing"}).json()] == [opportunities["theirs"].pk]
    assert [r["id"] for r in client.get(URL, {"lever": "caching"}).json()] == [opportunities["ours_caching"].pk]
    assert client.get(URL, {"status": "done"}).json() == []


def test_a_member_filtering_on_another_team_sees_nothing_of_it(member, opportunities):
    assert _client(member).get(URL, {"team": "billing"}).json() == []


def test_a_team_nobody_registered_has_no_opportunities(finance, opportunities):
    response = _client(finance).get(URL, {"team": "nobody"})
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lever": "magic"}, "lever"),
        ({"status": "later"}, "status"),
        ({"team": ""}, "team"),
        ({"teams": "search"}, "teams"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(finance, opportunities, params, field):
    response = _client(finance).get(URL, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_filter_sent_empty_is_refused_rather_than_read_as_absent(key_client):
    response = key_client.get("/api/v1/opportunities", {"team": ""})
    assert (response.status_code, response.json()) == (400, {"team": ["May not be blank: leave it out instead."]})


def test_an_accepted_opportunity_reads_with_its_owner_and_due_date(lead, member, opportunities):
    routing = Opportunity.objects.get(team__slug="search", lever="routing")
    opportunity_accept(opportunity=routing, owner=lead, due_on=date(2999, 1, 31))

    rows = {r["lever"]: r for r in _client(member).get(URL).json()}

    assert (rows["routing"]["owner"], rows["routing"]["due_on"]) == ("lead", "2999-01-31")
    assert rows["caching"]["due_on"] is None
