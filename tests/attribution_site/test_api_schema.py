"""The OpenAPI schema says what the API answers: shapes, nullable fields, errors and who may call."""

from __future__ import annotations

import pytest

from apps.org.tags import TAGS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _ok(schema, path, method="get", status="200"):
    content = schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return _resolve(schema, content)


def _resolve(schema, node):
    if "$ref" in node:
        return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_events_list_is_a_page_object_with_links_and_results(schema):
    page = _ok(schema, "/api/v1/events")

    assert set(page["properties"]) == {"next", "previous", "results"}
    assert page["properties"]["next"]["nullable"] is True
    event = _resolve(schema, page["properties"]["results"]["items"])
    assert event["properties"]["event_id"] == {
        "type": "string",
        "description": "Client idempotency key, unique per API key.",
    }


def test_the_event_output_has_every_field_of_the_input_and_every_tag(schema):
    sent = _resolve(schema, schema["components"]["schemas"]["EventIn"])["properties"]
    event = _resolve(schema, _ok(schema, "/api/v1/events")["properties"]["results"]["items"])
    tags = _resolve(schema, event["properties"]["tags"]["allOf"][0])["properties"]

    assert set(sent) - set(TAGS) <= set(event["properties"])
    assert set(tags) == set(TAGS) <= set(sent)


def test_the_events_list_documents_its_cursor_and_page_size(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/events"]["get"]["parameters"]}

    assert parameters["cursor"] == {"type": "string"}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 1000}


def test_a_costs_row_has_a_field_per_dimension_and_no_key_object(schema):
    report = _ok(schema, "/api/v1/costs")
    row = _resolve(schema, report["properties"]["rows"]["items"])

    assert "key" not in row["properties"]
    assert row["properties"]["customer"] == {
        "type": "string",
        "nullable": True,
        "description": "Present when grouped by customer.",
    }
    assert "customer" not in row.get("required", [])
    assert {"requests", "list_cost", "direct_cost", "allocated_in", "allocated_out", "total"} <= set(row["required"])


def test_the_costs_report_documents_its_pages(schema):
    report = _ok(schema, "/api/v1/costs")

    assert {"group_by", "rows", "total", "count", "next", "next_cursor"} == set(report["properties"])
    assert report["properties"]["next_cursor"]["nullable"] is True


def test_allocations_are_a_month_with_its_lines(schema):
    report = _ok(schema, "/api/v1/allocations")

    assert set(report["properties"]) == {"month", "allocations"}
    assert report["properties"]["allocations"]["type"] == "array"


def test_an_alerts_team_may_be_null_for_the_organisations_own(schema):
    alert = _resolve(schema, _ok(schema, "/api/v1/alerts")["items"])

    assert alert["properties"]["team"]["nullable"] is True


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/v1/events", "post", {"202", "400", "401", "403", "413", "415", "422"}),
        ("/api/v1/events", "get", {"200", "400", "401", "403", "404"}),
        ("/api/v1/events/{event_id}", "get", {"200", "401", "403", "404"}),
        ("/api/v1/costs", "get", {"200", "400", "401", "403", "404", "429", "503"}),
        ("/api/v1/allocations", "get", {"200", "400", "401", "403", "429", "503"}),
        ("/api/v1/anomalies", "get", {"200", "400", "401", "403"}),
        ("/api/v1/alerts", "get", {"200", "400", "401", "403"}),
    ],
)
def test_every_error_status_is_documented_with_an_error_body(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]

    assert set(responses) == statuses
    for status in statuses - {"200", "202", "422"}:
        body = responses[status]["content"]["application/json"]["schema"]
        assert body["$ref"] in {"#/components/schemas/Error", "#/components/schemas/ValidationError"}


def test_a_request_with_no_event_accepted_answers_the_ingestion_body_with_422(schema):
    responses = schema["paths"]["/api/v1/events"]["post"]["responses"]

    assert (
        responses["422"]["content"]["application/json"]["schema"]
        == responses["202"]["content"]["application/json"]["schema"]
    )


def test_sending_events_takes_an_api_key_only(schema):
    assert schema["paths"]["/api/v1/events"]["post"]["security"] == [{"ApiKey": []}]


def test_reading_events_takes_a_key_or_a_session(schema):
    assert {"ApiKey": []} in schema["paths"]["/api/v1/events"]["get"]["security"]
    assert {"cookieAuth": []} in schema["paths"]["/api/v1/events"]["get"]["security"]
