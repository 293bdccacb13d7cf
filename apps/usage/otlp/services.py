"""Storing the provider calls of an OTLP export request through the one ingestion service."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from apps.usage.keys import ApiKeyInfo
from apps.usage.models import UsageEvent
from apps.usage.services import events_ingest

from .calls import errors_text, request_events


@dataclass
class SpansIngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected_spans: int = 0
    problems: list[str] = field(default_factory=list)


def spans_ingest(*, key: ApiKeyInfo, request: ExportTraceServiceRequest) -> SpansIngestResult:
    """Map the request's GenAI spans to events and store them in one ingestion call, so a request
    is stored all or nothing (events_ingest writes one statement or one transaction)."""
    mapped = request_events(request, now=timezone.now())
    result = events_ingest(key=key, events=mapped.events, source=UsageEvent.Source.OTLP)
    problems = list(mapped.problems)
    for rejected in result.rejected:
        problems.append(f"span {mapped.calls[rejected['index']].span_id}: {errors_text(rejected['errors'])}")
    # A response stored by an earlier request (another span of the call, or another door): the
    # stored event stays, and a span whose own counts differ from it is named. Its time and
    # latency differ from any other span's, so those alone are no disagreement.
    for conflict in result.conflicts:
        call = mapped.calls[conflict["index"]]
        differing = [name for name in conflict["fields"] if name in call.reported]
        if differing:
            problems.append(
                f"span {call.span_id}: response {conflict['event_id']} is already stored with other "
                f"{', '.join(differing)}; the stored event stays"
            )
    return SpansIngestResult(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected_spans=len(problems),
        problems=problems,
    )
