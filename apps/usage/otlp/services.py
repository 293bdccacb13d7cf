"""Storing the provider calls of an OTLP export request through the one ingestion service."""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from apps.usage.keys import ApiKeyInfo
from apps.usage.models import UsageEvent
from apps.usage.services import events_ingest

from .mapping import request_events


@dataclass
class SpansIngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected_spans: int = 0
    problems: list[str] = field(default_factory=list)


def spans_ingest(*, key: ApiKeyInfo, request: ExportTraceServiceRequest) -> SpansIngestResult:
    """Map the request's GenAI spans to events and store them in one ingestion call, so a request
    is stored all or nothing (events_ingest writes one statement or one transaction)."""
    mapped = request_events(request)
    result = events_ingest(key=key, events=mapped.events, source=UsageEvent.Source.OTLP)
    problems = list(mapped.problems)
    for rejected in result.rejected:
        reasons = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in rejected["errors"].items())
        problems.append(f"span {mapped.span_ids[rejected['index']]}: {reasons}")
    return SpansIngestResult(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected_spans=len(problems),
        problems=problems,
    )
