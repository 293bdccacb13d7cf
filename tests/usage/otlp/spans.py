"""Building OTLP export requests for the tests: spans from plain attribute dicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

TRACE_ID = "5b8efff798038103d269b633813fc60c"
# An hour ago, on a whole second and a quarter: inside the ingestion horizon whenever the tests run.
END = datetime.now(UTC).replace(microsecond=250000) - timedelta(hours=1)
# The time the ingestion validates the spans' events against.
NOW = END + timedelta(hours=1)


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=value)


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_value(value)) for key, value in attributes.items()]


def span(
    attributes: dict[str, Any],
    *,
    span_id: str = "eee19b7ec3c1b174",
    trace_id: str = TRACE_ID,
    end: datetime = END,
    duration_ms: int = 1250,
    error: bool = False,
) -> Span:
    end_nanos = int(end.timestamp()) * 1_000_000_000 + end.microsecond * 1000
    return Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
        name="chat",
        start_time_unix_nano=end_nanos - duration_ms * 1_000_000,
        end_time_unix_nano=end_nanos,
        attributes=key_values(attributes),
        status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET),
    )


def export_request(
    *spans: Span, resource: dict[str, Any] | None = None, scope: tuple[str, str] = ("", "")
) -> ExportTraceServiceRequest:
    """One resource and one instrumentation scope (name, version) holding the spans."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = scope
    scope_spans.spans.extend(spans)
    return request


def chat(**overrides: Any) -> dict[str, Any]:
    """The attributes of an OpenAI chat span under the current conventions."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        **overrides,
    }
