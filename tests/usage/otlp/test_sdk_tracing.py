"""The anthropic SDK's own tracing, on and off, beside OpenLLMetry's: the real SDK exports real
spans through the real OTLP exporter to the live server, and each call is stored once, priced
exactly from its price row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

from apps.usage.models import UsageEvent
from tests.factories import ModelPriceFactory

from .exporter_session import AnswersSession
from .instrumented_app import anthropic_calls, instrumented
from .provider_server import ANTHROPIC_MODEL, ProviderServer

# serialized_rollback: the flush after a transactional test would drop the seeded environments.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The fake provider's usage (provider_server.py) at the factory's price row ($3 in, $0.30 cache
# read, $3.75 5-minute and $6 1-hour cache writes, $15 out per million):
# 100 uncached × $3 + 1,000 reads × $0.30 + 50 5-minute writes × $3.75 + 150 1-hour writes × $6
# + 50 output × $15 = $2,437.50 per million calls.
WITH_LIFETIMES = Decimal("0.002437500")
# Without the lifetime split the 200 writes are all priced as 5-minute ones (200 × $3.75).
WITHOUT_LIFETIMES = Decimal("0.002100000")
TOKENS = ("event_id", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")


@pytest.fixture
def provider_url(live_server, api_key, monkeypatch):
    ModelPriceFactory(provider="anthropic", model=ANTHROPIC_MODEL)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{live_server.url}/otlp/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{api_key.raw_key}")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=support-bot")
    # A stream's message_start carries an output count of 1, as the API's does.
    with ProviderServer(start_output_tokens=1) as provider:
        yield provider.url


def stored(*fields: str) -> list[tuple]:
    return list(UsageEvent.objects.order_by("event_id").values_list(*fields))


@pytest.mark.parametrize("batch", [False, True], ids=["span-by-span", "one-batch"])
def test_the_sdks_tracing_and_openllmetry_store_each_call_once_with_its_cache_lifetimes(provider_url, batch):
    session = AnswersSession()
    exporter = OTLPSpanExporter(session=session)
    with instrumented(AnthropicInstrumentor(), exporter=exporter, batch=batch) as provider:
        anthropic_calls(provider_url, sdk_tracing=provider)

    assert stored(*TOKENS, "output_tokens", "billed_cost", "source") == [
        ("msg_0001", 1300, 1000, 200, 150, 50, WITH_LIFETIMES, "otlp"),
        ("msg_0002", 1300, 1000, 200, 150, 50, WITH_LIFETIMES, "otlp"),
    ]
    # OpenLLMetry adds the stream's message_start output count to message_delta's: its span of the
    # stream disagrees with the SDK's, which has the lifetimes too, and is named in the answer.
    assert session.rejected_spans == 1
    expected = "51≠50" if batch else "already stored with other output_tokens"
    assert expected in session.error_messages[0]
    assert "msg_0002" in session.error_messages[0]


def test_the_sdks_own_tracing_alone_stores_each_call_with_its_cache_lifetimes(provider_url):
    session = AnswersSession()
    with instrumented(exporter=OTLPSpanExporter(session=session)) as provider:
        anthropic_calls(provider_url, sdk_tracing=provider)

    assert stored(*TOKENS, "billed_cost") == [
        ("msg_0001", 1300, 1000, 200, 150, WITH_LIFETIMES),
        ("msg_0002", 1300, 1000, 200, 150, WITH_LIFETIMES),
    ]
    assert (len(session.answers), session.rejected_spans) == (2, 0)


def test_with_the_sdks_tracing_off_openllmetry_alone_knows_no_lifetimes(provider_url):
    session = AnswersSession()
    with instrumented(AnthropicInstrumentor(), exporter=OTLPSpanExporter(session=session)):
        anthropic_calls(provider_url)

    # Its stream span counts message_start's output token too: one more output token, at $15 per million.
    assert stored(*TOKENS, "output_tokens", "billed_cost") == [
        ("msg_0001", 1300, 1000, 200, 0, 50, WITHOUT_LIFETIMES),
        ("msg_0002", 1300, 1000, 200, 0, 51, WITHOUT_LIFETIMES + Decimal("0.000015000")),
    ]
    assert (len(session.answers), session.rejected_spans) == (2, 0)


def test_with_the_sdks_tracing_off_and_no_instrumentation_nothing_is_exported(provider_url):
    session = AnswersSession()
    with instrumented(exporter=OTLPSpanExporter(session=session)):
        anthropic_calls(provider_url)

    assert (session.answers, stored("event_id")) == ([], [])
