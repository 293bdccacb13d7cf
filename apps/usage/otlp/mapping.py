"""Pure functions from OTLP spans to canonical usage events: which spans are provider calls, and
which attributes (spellings.py) fill which event field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from apps.pricing.rating import TOKEN_FIELDS

from . import spellings
from .emitters import Emitter, emitter_of

MAX_OUTCOME = 32


class SpanUnusable(Exception):
    """A provider-call span that cannot become an event; the message names the attribute."""


@dataclass(frozen=True)
class SpanCall:
    """One provider-call span as an event, with the token counts the span itself reported (the
    others are zeros) and who emitted it."""

    span_id: str
    event: dict[str, Any]
    reported: frozenset[str]
    emitter: Emitter

    @property
    def complete(self) -> bool:
        return {"input_tokens", "output_tokens"} <= self.reported


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


def _cache_write_split(attributes: dict[str, Any], total: tuple[str, Any] | None) -> dict[str, int]:
    """The 1-hour part of the cache writes from Anthropic's 5-minute / 1-hour split, and the
    writes themselves when the span gives only their parts."""
    five = _first(attributes, spellings.CACHE_WRITE_5M)
    hour = _first(attributes, spellings.CACHE_WRITE_1H)
    if five is None and hour is None:
        return {}
    five_count = 0 if five is None else _count(*five)
    hour_count = 0 if hour is None else _count(*hour)
    if total is None:
        return {"cache_write_tokens": five_count + hour_count, "cache_write_1h_tokens": hour_count}
    total_count = _count(*total)
    if five_count + hour_count > total_count:
        parts = " + ".join(found[0] for found in (five, hour) if found is not None)
        raise SpanUnusable(f"{parts} ({five_count + hour_count}) exceed {total[0]} ({total_count})")
    if hour is None:
        # Each write has one lifetime or the other: what the 5-minute writes leave are 1-hour ones.
        hour_count = total_count - five_count
    return {"cache_write_1h_tokens": hour_count}


def _tokens(attributes: dict[str, Any], *, provider: str, emitter: Emitter) -> tuple[dict[str, Any], frozenset[str]]:
    """The event's token counts and the names of those the span reported."""
    reported: dict[str, int] = {}
    for target, names in spellings.TOKEN_SPELLINGS.items():
        found = _first(attributes, names)
        if found is not None:
            reported[target] = _count(*found)
    total = _first(attributes, spellings.TOKEN_SPELLINGS["cache_write_tokens"])
    reported.update(_cache_write_split(attributes, total))
    tokens: dict[str, Any] = {name: reported.get(name, 0) for name in TOKEN_FIELDS}
    # Whether the input count has the cached tokens in it is the emitter's rule, never guessed from
    # the numbers: an uncached count can be larger than the cached ones too (emitters.py).
    if "input_tokens" in reported and not emitter.input_includes_cache(provider):
        tokens["input_tokens"] += tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    tokens["usage_missing"] = not ({"input_tokens", "output_tokens"} & reported.keys())
    return tokens, frozenset(reported)


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


def span_call(
    span: Span,
    *,
    resource: dict[str, Any],
    attributes: dict[str, Any] | None = None,
    scope: InstrumentationScope | None = None,
) -> SpanCall:
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
    emitter = emitter_of(
        scope_name=scope.name if scope else "",
        scope_version=scope.version if scope else "",
        attributes=attributes,
        resource=resource,
    )
    tokens, reported = _tokens(attributes, provider=provider, emitter=emitter)
    event: dict[str, Any] = {
        "event_id": _text(attributes, spellings.RESPONSE_ID) or f"{trace_id}:{span.span_id.hex()}",
        "timestamp": _timestamp(end),
        "provider": provider,
        "model": model,
        **tokens,
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
    return SpanCall(span_id=span.span_id.hex(), event=event, reported=reported, emitter=emitter)


def span_event(span: Span, *, resource: dict[str, Any], scope: InstrumentationScope | None = None) -> dict[str, Any]:
    return span_call(span, resource=resource, scope=scope).event


def request_calls(request: ExportTraceServiceRequest) -> tuple[list[SpanCall], list[str]]:
    """Every provider-call span of an export request, in order, and why each unusable one is;
    other spans are ignored."""
    calls: list[SpanCall] = []
    problems: list[str] = []
    for resource_spans in request.resource_spans:
        resource = attribute_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = attribute_values(span.attributes)
                if not span_is_call(attributes):
                    continue
                try:
                    calls.append(span_call(span, resource=resource, attributes=attributes, scope=scope_spans.scope))
                except SpanUnusable as exc:
                    problems.append(f"span {span.span_id.hex()}: {exc}")
    return calls, problems
