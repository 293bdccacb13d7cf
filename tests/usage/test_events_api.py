"""GET /api/v1/events and /api/v1/events/<event_id>: request-level diagnostics, scoped to the caller."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.usage.models import ApiKey
from tests.factories import ApiKeyFactory, EventPayloadFactory, ProductFactory

from .conftest import EVENTS_URL

pytestmark = pytest.mark.django_db


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def event_ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {event["event_id"] for event in response.json()["results"]}


@pytest.fixture
def billing_client(other_team):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(team=other_team, name='billing-service').raw_key}")
    return client


@pytest.fixture
def two_teams_events(send, billing_client, price):
    """search-1 from the search team's key, billing-1 from the billing team's key, each tagged with its team."""
    send(EventPayloadFactory(event_id="search-1", team="search"))
    send(EventPayloadFactory(event_id="billing-1", team="billing"), client=billing_client)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def tagged_events(send, api_key, team, other_team, now, price):
    """Three events of the search key (which may charge billing too), each tagged differently, an hour apart."""
    ProductFactory(slug="search-web", team=team)
    api_key.chargeable_teams.add(other_team)
    send(
        EventPayloadFactory(
            event_id="e-1",
            timestamp=(now - timedelta(hours=3)).isoformat(),
            team="search",
            product="search-web",
            feature="autocomplete",
            customer="cust_1",
            agent="planner",
            trace_id="t-1",
        ),
        EventPayloadFactory(
            event_id="e-2",
            timestamp=(now - timedelta(hours=2)).isoformat(),
            team="billing",
            product="invoices",
            feature="summaries",
            customer="cust_2",
            agent="writer",
            model="other-model",
            trace_id="t-2",
        ),
        EventPayloadFactory(event_id="e-3", timestamp=(now - timedelta(hours=1)).isoformat(), team="ranking"),
    )


def test_a_key_reads_its_own_teams_events(key_client, two_teams_events):
    assert event_ids(key_client.get(EVENTS_URL)) == {"search-1"}


def test_a_key_reads_an_event_of_its_own_team(key_client, two_teams_events):
    response = key_client.get(f"{EVENTS_URL}/search-1")
    assert (response.status_code, response.json()["event_id"]) == (200, "search-1")


def test_a_key_gets_404_for_another_teams_event(key_client, two_teams_events):
    assert key_client.get(f"{EVENTS_URL}/billing-1").status_code == 404


def test_a_key_reads_events_another_teams_key_attributed_to_its_team(send, key_client, billing_client, team, price):
    ApiKey.objects.get(name="billing-service").chargeable_teams.add(team)
    send(EventPayloadFactory(event_id="billing-for-search", team="search"), client=billing_client)
    assert event_ids(key_client.get(EVENTS_URL)) == {"billing-for-search"}


def test_staff_read_every_teams_events(admin_user, two_teams_events):
    assert event_ids(logged_in(admin_user).get(EVENTS_URL)) == {"search-1", "billing-1"}


def test_finance_reads_every_teams_events(finance, two_teams_events):
    assert event_ids(logged_in(finance).get(EVENTS_URL)) == {"search-1", "billing-1"}


def test_staff_read_the_detail_of_any_event(admin_user, two_teams_events):
    assert logged_in(admin_user).get(f"{EVENTS_URL}/billing-1").status_code == 200


def test_an_ordinary_logged_in_user_is_refused_the_list(member, two_teams_events):
    assert logged_in(member).get(EVENTS_URL).status_code == 403


def test_an_ordinary_logged_in_user_is_refused_the_detail(member, two_teams_events):
    assert logged_in(member).get(f"{EVENTS_URL}/search-1").status_code == 403


def test_an_anonymous_request_is_refused(anon_client, two_teams_events):
    assert anon_client.get(EVENTS_URL).status_code == 401


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("team", "search", {"e-1"}),
        ("team", "billing", {"e-2"}),
        ("team", "ranking", {"e-3"}),  # an unknown team matches its tag value
        ("product", "search-web", {"e-1"}),
        ("product", "invoices", {"e-2"}),
        ("feature", "summaries", {"e-2"}),
        ("customer", "cust_1", {"e-1"}),
        ("agent", "writer", {"e-2"}),
        ("model", "other-model", {"e-2"}),
        ("trace_id", "t-1", {"e-1"}),
    ],
)
def test_it_filters_by_tag(key_client, tagged_events, name, value, expected):
    assert event_ids(key_client.get(EVENTS_URL, {name: value})) == expected


def test_it_filters_events_since_a_time(key_client, tagged_events, now):
    since = (now - timedelta(hours=2, minutes=30)).isoformat()
    assert event_ids(key_client.get(EVENTS_URL, {"since": since})) == {"e-2", "e-3"}


def test_it_filters_events_until_a_time_excluding_it(key_client, tagged_events, now):
    until = (now - timedelta(hours=2)).isoformat()
    assert event_ids(key_client.get(EVENTS_URL, {"until": until})) == {"e-1"}


def test_an_invalid_since_is_a_400_naming_the_field(key_client, tagged_events):
    response = key_client.get(EVENTS_URL, {"since": "yesterday"})
    assert (response.status_code, list(response.json())) == (400, ["since"])


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_moment_out_of_range_is_a_400_naming_the_field(key_client, tagged_events, name, value):
    response = key_client.get(EVENTS_URL, {name: value})
    assert (response.status_code, list(response.json())) == (400, [name])


def test_it_pages_with_a_cursor(key_client, tagged_events):
    first = key_client.get(EVENTS_URL, {"page_size": 2}).json()
    second = key_client.get(first["next"]).json()
    assert [e["event_id"] for e in first["results"]] == ["e-3", "e-2"]
    assert ([e["event_id"] for e in second["results"]], second["next"]) == (["e-1"], None)


def test_an_event_shows_its_costs_as_exact_decimal_strings_and_its_price(key_client, price, send):
    send(EventPayloadFactory(event_id="req_01", input_tokens=1000, output_tokens=100))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert (body["list_cost"], body["billed_cost"], body["price"]) == (
        "0.004500000",
        "0.004500000",
        {"id": price.id, "provider": "anthropic", "model": "test-model", "effective_from": "2020-01-01T00:00:00Z"},
    )


def test_an_event_id_with_slashes_can_be_read_back(key_client, price, send):
    send(EventPayloadFactory(event_id="msg/2026/11/req_01"))
    response = key_client.get(f"{EVENTS_URL}/msg/2026/11/req_01")
    assert (response.status_code, response.json()["event_id"]) == (200, "msg/2026/11/req_01")


def test_an_event_shows_its_normalized_and_raw_tags(key_client, team, price, send):
    raw = {
        "team": "Search",
        "product": "Web",
        "environment": "prod",
        "feature": "Auto Complete",
        "customer": "cust_1",
        "agent": "planner",
        "trace_id": "t-1",
    }
    send(EventPayloadFactory(event_id="req_01", **raw))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert body["raw_tags"] == raw
    assert body["tags"] == {
        "team": "search",
        "product": None,  # "web" is no registered product
        "environment": "production",
        "feature": "auto-complete",
        "customer": "cust_1",
        "agent": "planner",
        "trace_id": "t-1",
        "person": "",
        "provider_scope": "",
    }


def test_an_attributed_complete_event_has_no_flags(key_client, team, price, send):
    ProductFactory(slug="search-web", team=team)
    send(EventPayloadFactory(event_id="req_01", team="search", product="search-web", environment="production"))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert body["flags"] == {
        "unpriced": False,
        "usage_missing": False,
        "unattributed": False,
        "unattributed_reason": "",
        "missing_tags": [],
        "unknown_tags": [],
    }


def test_an_event_shows_why_it_is_unattributed_and_which_tags_it_lacks(key_client, price, send):
    send(EventPayloadFactory(event_id="req_01", environment="production"))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert body["flags"] == {
        "unpriced": False,
        "usage_missing": False,
        "unattributed": True,
        "unattributed_reason": "missing team tag",
        "missing_tags": ["team", "product"],
        "unknown_tags": [],
    }


def test_an_event_names_the_tags_whose_values_nobody_registered(key_client, price, send):
    send(EventPayloadFactory(event_id="req_01", team="search", product="Old Product", environment="qa-2"))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert body["flags"]["unknown_tags"] == ["product", "environment"]
    assert body["raw_tags"]["product"] == "Old Product"


def test_an_unpriced_event_has_no_price_and_zero_cost(key_client, send):
    send(EventPayloadFactory(event_id="req_01", model="mystery-model"))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert (body["price"], body["billed_cost"], body["flags"]["unpriced"]) == (None, "0.000000000", True)


def test_an_event_names_the_door_it_came_in_by_and_a_call_without_usage_is_flagged(key_client, price, send):
    send(EventPayloadFactory(event_id="req_01", input_tokens=0, output_tokens=0, usage_missing=True))
    body = key_client.get(f"{EVENTS_URL}/req_01").json()
    assert body["source"] == "api"
    assert body["flags"]["usage_missing"] is True


@pytest.mark.parametrize("path", ["a%00b", "%00", "x" * 129])
def test_an_event_id_no_event_can_have_is_not_found(key_client, path):
    response = key_client.get(f"{EVENTS_URL}/{path}")
    assert response.status_code == 404
