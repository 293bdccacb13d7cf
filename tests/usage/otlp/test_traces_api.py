"""POST /otlp/v1/traces: encodings, keys, limits and the OTLP answers."""

from __future__ import annotations

import gzip
from decimal import Decimal

import orjson
import pytest
from django.test import Client
from django.utils import timezone
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from apps.usage.models import UsageEvent

from .conftest import OTLP_URL, PROTOBUF
from .spans import TRACE_ID, chat, export_request, span

pytestmark = pytest.mark.django_db


def _response(response) -> ExportTraceServiceResponse:
    message = ExportTraceServiceResponse()
    message.ParseFromString(response.content)
    return message


def _json_body(request) -> bytes:
    """OTLP/JSON as the specification writes it: lowerCamelCase, hex trace and span ids."""
    body = json_format.MessageToDict(request)
    for resource_spans in body["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for item in scope_spans["spans"]:
                item["traceId"] = TRACE_ID
                item["spanId"] = "eee19b7ec3c1b174"
    return orjson.dumps(body)


def test_it_stores_a_protobuf_export_as_a_priced_otlp_event(export, gpt_price):
    response = export(export_request(span(chat())))
    assert response.status_code == 200
    assert response["Content-Type"] == PROTOBUF
    assert not _response(response).HasField("partial_success")
    event = UsageEvent.objects.get()
    assert (event.source, event.event_id, event.trace_id) == ("otlp", "chatcmpl-1", TRACE_ID)
    # 1,000 × $0.15 + 200 × $0.60 per million
    assert event.billed_cost == Decimal("0.000270000")


def test_it_reads_otlp_json_with_hex_ids_and_answers_in_json(api_key, gpt_price):
    response = Client().post(
        OTLP_URL,
        _json_body(export_request(span(chat()))),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key.raw_key}"},
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    assert UsageEvent.objects.get().trace_id == TRACE_ID


def test_it_reads_a_gzip_body(api_key, gpt_price):
    body = gzip.compress(export_request(span(chat())).SerializeToString())
    response = Client().post(
        OTLP_URL,
        body,
        content_type=PROTOBUF,
        headers={"Authorization": f"Bearer {api_key.raw_key}", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert UsageEvent.objects.get().input_tokens == 1000


def test_a_resend_is_stored_once(export, gpt_price):
    request = export_request(span(chat()))
    export(request)
    assert export(request).status_code == 200
    assert UsageEvent.objects.count() == 1


def test_unusable_spans_are_counted_in_partial_success_and_the_rest_stored(export, gpt_price):
    unusable = chat(**{"gen_ai.response.id": "chatcmpl-2", "gen_ai.usage.output_tokens": -1})
    response = export(export_request(span(chat()), span(unusable, span_id="00000000000000c3")))
    partial = _response(response).partial_success
    assert response.status_code == 200
    assert partial.rejected_spans == 1
    assert "span 00000000000000c3: gen_ai.usage.output_tokens must be a non-negative integer" in partial.error_message
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["chatcmpl-1"]


def test_a_span_the_ingestion_rejects_is_named_with_the_field_and_why(export, gpt_price):
    too_many = chat(**{"gen_ai.usage.reasoning.output_tokens": 500})
    partial = _response(export(export_request(span(too_many, span_id="00000000000000d4")))).partial_success
    assert partial.rejected_spans == 1
    assert partial.error_message.startswith("span 00000000000000d4: reasoning_tokens: Cannot exceed output_tokens")


def test_a_call_without_usage_is_stored_flagged_not_priced_as_zero(export, gpt_price):
    attributes = chat()
    del attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]
    export(export_request(span(attributes)))
    event = UsageEvent.objects.get()
    assert (event.usage_missing, event.input_tokens) == (True, 0)


def test_tags_from_the_resource_attribute_the_event(export, gpt_price, team):
    resource = {"attribution.team": team.slug, "service.name": "support-bot", "deployment.environment.name": "prod"}
    export(export_request(span(chat()), resource=resource))
    event = UsageEvent.objects.get()
    assert (event.team_id, event.agent, event.environment.slug) == (team.id, "support-bot", "production")


def test_an_unknown_key_is_refused_with_401(export):
    response = export(export_request(span(chat())), key="not-a-key")
    assert response.status_code == 401
    status = Status()
    status.ParseFromString(response.content)
    assert status.message == "Unknown API key."


def test_a_missing_authorization_header_is_refused_with_401():
    response = Client().post(OTLP_URL, b"", content_type=PROTOBUF)
    assert response.status_code == 401


def test_a_revoked_key_is_refused_with_403(export, api_key):
    api_key.revoked_at = timezone.now()
    api_key.save()
    assert export(export_request(span(chat()))).status_code == 403


def test_an_unreadable_protobuf_body_is_a_400(export, api_key):
    response = Client().post(
        OTLP_URL, b"\xff\xff\xff", content_type=PROTOBUF, headers={"Authorization": f"Bearer {api_key.raw_key}"}
    )
    assert response.status_code == 400
    status = Status()
    status.ParseFromString(response.content)
    assert "not an ExportTraceServiceRequest" in status.message


def test_a_bad_hex_trace_id_in_json_is_a_400_naming_the_field(api_key):
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz", "spanId": "eee19b7ec3c1b174"}]}]}]}
    response = Client().post(
        OTLP_URL,
        orjson.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key.raw_key}"},
    )
    assert response.status_code == 400
    assert "$.resourceSpans[0].scopeSpans[0].spans[0].traceId must be a hex string" in response.json()["message"]


def test_another_content_type_is_a_415(api_key):
    response = Client().post(
        OTLP_URL, b"x", content_type="text/plain", headers={"Authorization": f"Bearer {api_key.raw_key}"}
    )
    assert response.status_code == 415


def test_a_body_over_the_limit_is_a_413(export, settings):
    settings.INGEST_MAX_BODY_BYTES = 100
    request = export_request(*[span(chat(**{"gen_ai.response.id": f"c{i}"})) for i in range(5)])
    assert export(request).status_code == 413


def test_more_spans_than_the_cap_is_a_413_naming_it_and_stores_nothing(export, settings, gpt_price):
    settings.OTLP_MAX_SPANS = 4
    request = export_request(*[span(chat(**{"gen_ai.response.id": f"c{i}"})) for i in range(5)])

    response = export(request)

    assert response.status_code == 413
    status = Status()
    status.ParseFromString(response.content)
    assert status.message.startswith("5 spans in one request; at most 4 (OTLP_MAX_SPANS).")
    assert not UsageEvent.objects.exists()


def test_as_many_spans_as_the_cap_are_taken(export, settings, gpt_price):
    settings.OTLP_MAX_SPANS = 5
    request = export_request(*[span(chat(**{"gen_ai.response.id": f"c{i}"})) for i in range(5)])

    assert export(request).status_code == 200
    assert UsageEvent.objects.count() == 5


def test_a_gzip_body_over_the_limit_once_decompressed_is_a_413(api_key, settings):
    settings.INGEST_MAX_BODY_BYTES = 1000
    body = gzip.compress(b"\x00" * 5000)
    response = Client().post(
        OTLP_URL,
        body,
        content_type=PROTOBUF,
        headers={"Authorization": f"Bearer {api_key.raw_key}", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b'{"resourceSpans": 5}',
        b"[]",
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"abc"}]}]}]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"intValue":"x"}}]}]}]}]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5}]}]}]}',
        b'{"resourceSpans":[' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"]}",
    ],
    ids=["spans-not-a-list", "not-an-object", "bad-time", "bad-int", "numeric-id", "deep"],
)
def test_a_malformed_json_export_is_a_400_not_a_500(api_key, body):
    response = Client().post(
        OTLP_URL, body, content_type="application/json", headers={"Authorization": f"Bearer {api_key.raw_key}"}
    )
    assert response.status_code == 400
    assert response.json()["message"]
