"""The team rule at ingestion (events API and OTLP): an event charging a team or a product its key
may not charge is rejected on its own, with a field error saying why."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EventPayloadFactory, ProductFactory

from .otlp.conftest import OTLP_URL, PROTOBUF
from .otlp.spans import chat, export_request, span

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_app(other_team):
    return ProductFactory(slug="billing-app", team=other_team)


def test_a_pinned_keys_event_naming_another_teams_product_is_rejected_naming_it(send, client_for, billing_app, price):
    client = client_for(pinned_tags={"team": "search"})
    kept, refused = EventPayloadFactory(), EventPayloadFactory(product="Billing App")

    result = send(kept, refused, client=client)

    assert result["accepted"] == 1
    assert result["rejected"] == [
        {
            "index": 1,
            "event_id": refused["event_id"],
            "errors": {
                "product": [
                    "Product 'billing-app' belongs to team 'billing', "
                    "not to team 'search' that this call is charged to."
                ]
            },
        }
    ]
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == [kept["event_id"]]


def test_an_unpinned_keys_event_charging_another_team_is_rejected(send, other_team, price):
    result = send(EventPayloadFactory(team="billing"), status=422)

    assert result["rejected"][0]["errors"] == {
        "team": ["This API key may not charge team 'billing' (it may charge: search)."]
    }
    assert not UsageEvent.objects.exists()


def test_an_event_naming_another_teams_product_without_a_team_is_rejected(send, billing_app, price):
    result = send(EventPayloadFactory(product="billing-app"), status=422)

    assert list(result["rejected"][0]["errors"]) == ["product"]
    assert "which this API key may not charge" in result["rejected"][0]["errors"]["product"][0]


def test_a_team_listed_on_the_key_may_be_charged(send, api_key, other_team, billing_app, price):
    api_key.chargeable_teams.add(other_team)

    send(EventPayloadFactory(team="billing", product="billing-app"))

    event = UsageEvent.objects.get()
    assert (event.team, event.product) == (other_team, billing_app)


def test_an_otlp_span_charging_another_team_is_a_rejected_span_with_its_reason(client, team, other_team, price):
    key = ApiKeyFactory(team=team)
    request = export_request(span(chat(**{"attribution.team": "billing"})))

    response = client.post(
        OTLP_URL, request.SerializeToString(), content_type=PROTOBUF, headers={"Authorization": f"Bearer {key.raw_key}"}
    )

    answer = ExportTraceServiceResponse()
    answer.ParseFromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "team: This API key may not charge team 'billing'" in answer.partial_success.error_message
    assert not UsageEvent.objects.exists()


def test_the_admin_lists_the_teams_a_key_may_charge_and_ingestion_follows_at_once(
    admin_client, send, api_key, team, other_team, price
):
    response = admin_client.post(
        f"/admin/usage/apikey/{api_key.pk}/change/",
        {"name": api_key.name, "team": team.pk, "chargeable_teams": [other_team.pk]},
    )

    assert response.status_code == 302, response.content.decode()
    assert list(api_key.chargeable_teams.all()) == [other_team]
    assert send(EventPayloadFactory(team="billing"))["accepted"] == 1
