"""One provider call, one event: of the spans that report the same response, the one that can be
stored and says the most about the call's tokens becomes the event (docs/opentelemetry.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from apps.pricing.rating import TOKEN_FIELDS
from apps.usage.event import Event, event_validate

from .mapping import SpanCall, request_calls


@dataclass
class MappedRequest:
    """The events of one export request with the span each was built from, and the problems of
    the spans that were not used: unusable, unstorable, or disagreeing with the span that was."""

    # The validated Event of each call; a call that fails validation stays a plain mapping, which
    # events_ingest rejects with its errors.
    events: list[Event | dict[str, Any]] = field(default_factory=list)
    calls: list[SpanCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def span_ids(self) -> list[str]:
        return [call.span_id for call in self.calls]


def errors_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


def token_disagreements(kept: dict[str, Any], other: SpanCall) -> list[str]:
    """The token counts `other` reported that differ from the kept event's, as `name other≠kept`."""
    return [
        f"{name} {other.event[name]}≠{kept[name]}"
        for name in TOKEN_FIELDS
        if name in other.reported and other.event[name] != kept[name]
    ]


def _rank(call: SpanCall, errors: dict[str, list[str]], position: int) -> tuple:
    # Storable first: a span the ingestion would reject must never shadow one it would store.
    return (not errors, call.complete, len(call.reported), -position)


def _why_kept(kept: SpanCall, other: SpanCall) -> str:
    if kept.complete != other.complete:
        return "its usage is complete"
    if len(kept.reported) != len(other.reported):
        return f"it reports more token counts ({len(kept.reported)} to {len(other.reported)})"
    return "it came first with as much detail"


def _choose(calls: list[SpanCall], *, now: datetime, mapped: MappedRequest) -> None:
    validated = [event_validate(call.event, now=now) for call in calls]
    errors = [found for _, found in validated]
    best = max(range(len(calls)), key=lambda i: _rank(calls[i], errors[i], i))
    kept = calls[best]
    mapped.events.append(validated[best][0] or kept.event)
    mapped.calls.append(kept)
    response = kept.event["event_id"]
    for index, other in enumerate(calls):
        if index == best:
            continue
        if errors[index]:
            mapped.problems.append(
                f"span {other.span_id}: {errors_text(errors[index])} (span {kept.span_id} of the same "
                f"response {response} was used instead)"
            )
            continue
        differing = token_disagreements(kept.event, other)
        if differing:
            mapped.problems.append(
                f"span {other.span_id}: disagrees with span {kept.span_id} on response {response} "
                f"({', '.join(differing)}); span {kept.span_id} was used, as {_why_kept(kept, other)}"
            )


def request_events(request: ExportTraceServiceRequest, *, now: datetime) -> MappedRequest:
    """The events of an export request, one per provider response: spans that share a response id
    are one call. `now` is the time the ingestion validates against."""
    calls, problems = request_calls(request)
    mapped = MappedRequest(problems=problems)
    by_response: dict[str, list[SpanCall]] = {}
    for call in calls:
        by_response.setdefault(call.event["event_id"], []).append(call)
    for group in by_response.values():
        _choose(group, now=now, mapped=mapped)
    return mapped
