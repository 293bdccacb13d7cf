"""Pure functions from OTLP spans to canonical usage events: which spans are provider calls, and
which attributes (spellings.py) fill which event field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from . import spellings

MAX_OUTCOME = 32


class SpanUnusable(Exception):
    """A provider-call span that cannot become an event; the message names the attribute."""


@dataclass
class MappedRequest:
    """The events of one export request, the span id of each, and the spans that were unusable."""

    events: list[dict[str, Any]] = field(default_factory=list)
    span_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attribute_values(value.kvlist_value.values)
    return getattr(value, kind)


def attribute_values(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    return {item.key: any_value(item.value) for item in attributes}


def span_is_call(attributes: dict[str, Any]) -> bool:
    """A provider call names its GenAI operation or reports usage; wrapper operations do not count."""
    operation = attributes.get(spellings.OPERATION)
    if operation in spellings.NOT_CALLS:
        return False
    return operation is not None or any(key.startswith(spellings.USAGE_PREFIXES) for key in attributes)


def _first(attributes: dict[str, Any], names: Iterable[str]) -> tuple[str, Any] | None:
    for name in names:
        value = attributes.get(name)
        if value is not None and value != "":
            return name, value
    return None


def _text(attributes: dict[str, Any], names: Iterable[str]) -> str:
    found = _first(attributes, names)
    return "" if found is None else str(found[1]).strip()


def _count(name: str, value: Any) -> int:
    """Token counts arrive as ints, but some SDKs send doubles or strings of digits."""
    if isinstance(value, bool):
        count = None
    elif isinstance(value, int):
        count = value
    elif (isinstance(value, float) and value.is_integer()) or (isinstance(value, str) and value.strip().isdigit()):
        count = int(value)
    else:
        count = None
    if count is None or count < 0:
        raise SpanUnusable(f"{name} must be a non-negative integer, not {str(value)[:40]!r}")
    return count


def _tokens(attributes: dict[str, Any]) -> dict[str, Any]:
    tokens: dict[str, Any] = {}
    for target, names in spellings.TOKEN_SPELLINGS.items():
        found = _first(attributes, names)
        tokens[target] = 0 if found is None else _count(*found)
    tokens["usage_missing"] = not any(
        _first(attributes, spellings.TOKEN_SPELLINGS[name]) for name in ("input_tokens", "output_tokens")
    )
    cached = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    # By the conventions input counts cached tokens too; a count below the cached ones can only be
    # Anthropic's own usage.input_tokens (which leaves them out), so they are added back.
    if tokens["input_tokens"] < cached:
        tokens["input_tokens"] += cached
    return tokens


def _timestamp(nanos: int) -> str:
    seconds, rest = divmod(nanos, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000).isoformat()


def _tags(span_attributes: dict[str, Any], resource: dict[str, Any]) -> dict[str, str]:
    tags = {}
    for name in spellings.TAGS:
        key = spellings.TAG_PREFIX + name
        value = _text(span_attributes, [key]) or _text(resource, [key])
        if value:
            tags[name] = value
    if "agent" not in tags:
        agent = (
            _text(span_attributes, [spellings.AGENT_FALLBACK])
            or _text(resource, [spellings.AGENT_FALLBACK])
            or _text(resource, [spellings.SERVICE_NAME])
        )
        if agent:
            tags["agent"] = agent
    environment = _text(span_attributes, spellings.ENVIRONMENT) or _text(resource, spellings.ENVIRONMENT)
    if environment:
        tags["environment"] = environment
    return tags


def _outcome(span: Span, attributes: dict[str, Any]) -> str:
    if span.status.code != Status.STATUS_CODE_ERROR:
        return "success"
    return (_text(attributes, [spellings.ERROR_TYPE]) or "error")[:MAX_OUTCOME]


def span_event(span: Span, *, resource: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The canonical event of one provider-call span (SpanUnusable when a required part is missing)."""
    attributes = attribute_values(span.attributes) if attributes is None else attributes
    trace_id = span.trace_id.hex()
    provider = _text(attributes, spellings.PROVIDER).lower()
    if not provider:
        raise SpanUnusable("gen_ai.provider.name (or gen_ai.system) is missing")
    model = _text(attributes, spellings.MODEL)
    if not model:
        raise SpanUnusable("gen_ai.response.model (or gen_ai.request.model) is missing")
    end = span.end_time_unix_nano or span.start_time_unix_nano
    if not end:
        raise SpanUnusable("endTimeUnixNano is missing")
    event: dict[str, Any] = {
        "event_id": _text(attributes, spellings.RESPONSE_ID) or f"{trace_id}:{span.span_id.hex()}",
        "timestamp": _timestamp(end),
        "provider": provider,
        "model": model,
        **_tokens(attributes),
        **_tags(attributes, resource),
        "outcome": _outcome(span, attributes),
        "service_tier": spellings.SERVICE_TIERS.get(_text(attributes, spellings.SERVICE_TIER).lower(), "standard"),
    }
    if int(trace_id or "0", 16):
        event["trace_id"] = trace_id
    if span.start_time_unix_nano and span.end_time_unix_nano >= span.start_time_unix_nano:
        event["latency_ms"] = (span.end_time_unix_nano - span.start_time_unix_nano) // 1_000_000
    operation = _text(attributes, [spellings.OPERATION])
    if operation:
        event["attributes"] = {spellings.OPERATION: operation[:256]}
    return event


def _keep(kept: dict[str, Any], candidate: dict[str, Any]) -> bool:
    """Of two spans for one provider response, the one that reports the usage is the call."""
    return kept["usage_missing"] and not candidate["usage_missing"]


def request_events(request: ExportTraceServiceRequest) -> MappedRequest:
    """Every provider-call span of an export request as an event; other spans are ignored."""
    mapped = MappedRequest()
    position: dict[str, int] = {}
    for resource_spans in request.resource_spans:
        resource = attribute_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = attribute_values(span.attributes)
                if not span_is_call(attributes):
                    continue
                span_id = span.span_id.hex()
                try:
                    event = span_event(span, resource=resource, attributes=attributes)
                except SpanUnusable as exc:
                    mapped.problems.append(f"span {span_id}: {exc}")
                    continue
                index = position.get(event["event_id"])
                if index is None:
                    position[event["event_id"]] = len(mapped.events)
                    mapped.events.append(event)
                    mapped.span_ids.append(span_id)
                elif _keep(mapped.events[index], event):
                    mapped.events[index], mapped.span_ids[index] = event, span_id
    return mapped
