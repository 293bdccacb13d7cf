"""The anthropic SDK pointed at the gateway with its own tracing off and on. The gateway records
each call; with tracing on, the SDK's spans also reach the same server's OTLP door under the same
key, and each call is still stored once, at the gateway's price."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from apps.usage.models import UsageEvent
from tests.usage.otlp.exporter_session import AnswersSession

# serialized_rollback: the flush after a transactional test would drop the seeded environments.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]
# 1000 × $3 + 2000 cache reads × $0.30 + 1000 5-minute writes × $3.75 + 2000 1-hour writes × $6
# + 500 output × $15, per million (upstream.py's usage at the factory's price)
COST = Decimal("0.026850000")


@pytest.fixture(autouse=True)
def _prices(prices):
    pass


def calls(client: anthropic.Anthropic) -> None:
    """A plain call and a streamed one."""
    client.messages.create(model="claude-test-4", max_tokens=10, messages=HI)
    with client.messages.stream(model="claude-test-4", max_tokens=10, messages=HI) as stream:
        assert "".join(stream.text_stream) == "word0 word1 word2 word3 word4 "


def stored() -> list[tuple]:
    fields = ("event_id", "input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens", "billed_cost")
    return list(UsageEvent.objects.order_by("event_id").values_list(*fields))


EXPECTED = [("msg_0001", 6000, 3000, 2000, 500, COST), ("msg_0002", 6000, 3000, 2000, 500, COST)]


def test_with_the_sdks_tracing_off_the_gateway_records_each_call(gateway_server, api_key, provider):
    client = anthropic.Anthropic(
        base_url=f"{gateway_server.url}/gateway/anthropic", api_key=api_key.raw_key, max_retries=0, open_telemetry=False
    )
    calls(client)

    assert stored() == EXPECTED
    assert set(UsageEvent.objects.values_list("source", flat=True)) == {"gateway"}
    assert not [r for r in provider.requests if "traceparent" in {name.lower() for name in r["headers"]}]


def test_with_the_sdks_tracing_on_the_call_reaches_both_doors_and_is_stored_once(gateway_server, api_key, provider):
    session = AnswersSession()
    exporter = OTLPSpanExporter(
        endpoint=f"{gateway_server.url}/otlp/v1/traces",
        headers={"Authorization": f"Bearer {api_key.raw_key}"},
        session=session,
    )
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    client = anthropic.Anthropic(
        base_url=f"{gateway_server.url}/gateway/anthropic",
        api_key=api_key.raw_key,
        max_retries=0,
        open_telemetry={"tracer_provider": tracing},
    )
    calls(client)
    tracing.shutdown()

    assert stored() == EXPECTED
    # Both spans arrived and agree with what the gateway recorded: nothing is named.
    assert (len(session.answers), session.rejected_spans) == (2, 0)
    # The SDK sends its span's trace context with each request; the gateway passes it on.
    assert all("traceparent" in {name.lower() for name in r["headers"]} for r in provider.requests)
