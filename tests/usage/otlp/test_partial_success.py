"""Two spans for one call over POST /otlp/v1/traces: one event, and the OTLP partial success names
the span whose counts were not used."""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from apps.usage.models import UsageEvent
from tests.factories import ModelPriceFactory

from .anthropic_spans import OPENLLMETRY, SDK
from .spans import END, export_request, span

pytestmark = pytest.mark.django_db
A, B = "00000000000000a1", "00000000000000b2"
# 1,000 uncached × $3 + 2,000 cache reads × $0.30 + 1,000 5-minute writes × $3.75
# + 2,000 1-hour writes × $6 + 500 output × $15, per million
SDK_COST = Decimal("0.026850000")


@pytest.fixture(autouse=True)
def claude_price(db):
    return ModelPriceFactory(provider="anthropic", model="claude-sonnet-4-5-20250929")


def partial_success(response):
    assert response.status_code == 200
    message = ExportTraceServiceResponse()
    message.ParseFromString(response.content)
    return message.partial_success


def test_the_disagreeing_span_of_a_stored_call_is_counted_as_rejected(export):
    streamed = {**OPENLLMETRY, "gen_ai.usage.output_tokens": 501}
    partial = partial_success(export(export_request(span(streamed, span_id=A), span(SDK, span_id=B))))
    assert partial.rejected_spans == 1
    assert partial.error_message.startswith(f"span {A}: disagrees with span {B} on response msg_01 (output_tokens")
    event = UsageEvent.objects.get()
    assert (event.output_tokens, event.cache_write_1h_tokens, event.billed_cost) == (500, 2000, SDK_COST)


def test_agreeing_spans_of_one_call_are_stored_once_without_a_partial_success(export):
    partial = partial_success(export(export_request(span(OPENLLMETRY, span_id=A), span(SDK, span_id=B))))
    assert (partial.rejected_spans, partial.error_message) == (0, "")
    assert list(UsageEvent.objects.values_list("event_id", "billed_cost")) == [("msg_01", SDK_COST)]


def test_a_later_span_that_agrees_with_the_stored_event_is_no_problem(export):
    export(export_request(span(SDK, span_id=B)))
    # Another emitter's span ends later: another time and latency, the same counts.
    later = span(OPENLLMETRY, span_id=A, end=END.replace(microsecond=900000), duration_ms=1900)
    partial = partial_success(export(export_request(later)))
    assert (partial.rejected_spans, UsageEvent.objects.count()) == (0, 1)


def test_a_later_span_with_other_counts_is_named_and_the_stored_event_stays(export):
    export(export_request(span(OPENLLMETRY, span_id=A)))
    partial = partial_success(export(export_request(span(SDK, span_id=B))))
    assert partial.rejected_spans == 1
    assert partial.error_message == (
        f"span {B}: response msg_01 is already stored with other cache_write_1h_tokens; the stored event stays"
    )
    assert UsageEvent.objects.get().cache_write_1h_tokens == 0
