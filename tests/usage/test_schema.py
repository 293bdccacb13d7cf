"""The OpenAPI schema, its docs page and the liveness probe."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anon_client):
    response = anon_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_documents_the_events_paths(schema):
    assert {"/api/v1/events", "/api/v1/events/{event_id}"} <= set(schema["paths"])


def test_the_schema_documents_ingestion_and_listing(schema):
    assert set(schema["paths"]["/api/v1/events"]) >= {"post", "get"}


def test_the_schema_documents_the_canonical_event_fields(schema):
    fields = schema["components"]["schemas"]["EventIn"]["properties"]
    assert {"event_id", "timestamp", "input_tokens", "cache_write_1h_tokens", "service_tier", "attributes"} <= set(
        fields
    )


def test_the_schema_accepts_one_event_or_a_batch(schema):
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["components"]["schemas"]["EventOrBatch"]["oneOf"] == [
        {"$ref": "#/components/schemas/EventIn"},
        {"$ref": "#/components/schemas/BatchIn"},
    ]
    assert body == {"$ref": "#/components/schemas/EventOrBatch"}


def test_the_schema_documents_bearer_key_authentication(schema):
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key created in the admin.",
    }


def test_the_schema_is_valid_openapi_and_generates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/v1/events:" in out.getvalue() and "/api/v1/costs:" in out.getvalue()


def test_the_api_docs_page_is_served(anon_client):
    assert anon_client.get("/api/docs/").status_code == 200


def test_the_liveness_probe_reports_the_database_up(anon_client):
    response = anon_client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"database": True})
