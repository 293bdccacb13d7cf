"""Real instrumented apps export GenAI spans to the live server: events, exact costs, traces, tags.

The instrumentations are the public ones (OpenLLMetry's and the official OpenAI one), the SDKs are
the official openai and anthropic clients calling a fake provider on loopback, and costs are
checked against genai-prices' own calculation.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from genai_prices import Usage, calc_price
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JsonSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetryOpenAIInstrumentor
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as OfficialOpenAIInstrumentor

from apps.pricing.services import prices_load_from_package
from apps.usage.models import UsageEvent

from .instrumented_app import anthropic_calls, instrumented, openai_calls, task
from .provider_server import ANTHROPIC_MODEL, OPENAI_MODEL, ProviderServer

# serialized_rollback: the flush after a transactional test would drop the seeded environments.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def oracle(model: str, provider: str, **tokens: int) -> Decimal:
    """genai-prices' price of a call, rounded to the nano-dollar as stored."""
    price = calc_price(Usage(**tokens), model, provider_id=provider).total_price
    return price.quantize(Decimal("0.000000001"), rounding=ROUND_HALF_EVEN)


# What the fake provider reports for every call (provider_server.py).
OPENAI_COST = oracle(OPENAI_MODEL, "openai", input_tokens=1200, cache_read_tokens=200, output_tokens=300)
ANTHROPIC_COST = oracle(
    ANTHROPIC_MODEL, "anthropic", input_tokens=1300, cache_read_tokens=1000, cache_write_tokens=200, output_tokens=50
)


@pytest.fixture
def app_environment(live_server, api_key, monkeypatch):
    """The two variables that point an exporter here, and the service's resource attributes."""
    prices_load_from_package()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{live_server.url}/otlp/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{api_key.raw_key}")
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.name=support-bot,attribution.team=search,attribution.product=helpdesk,"
        "deployment.environment.name=production",
    )
    with ProviderServer() as provider:
        yield provider.url


def events() -> list[UsageEvent]:
    return list(UsageEvent.objects.select_related("team", "environment").order_by("event_id"))


def test_openllmetry_openai_calls_arrive_priced_exactly_in_one_trace(app_environment):
    with (
        instrumented(OpenLLMetryOpenAIInstrumentor(), exporter=OTLPSpanExporter()) as provider,
        task(provider, customer="cust_42") as trace_id,
    ):
        openai_calls(app_environment)
    stored = events()
    assert [(e.event_id, e.source, e.billed_cost, e.usage_missing) for e in stored] == [
        ("chatcmpl-1", "otlp", OPENAI_COST, False),
        ("chatcmpl-2", "otlp", OPENAI_COST, False),
        ("chatcmpl-3", "otlp", Decimal("0E-9"), True),
    ]
    assert {e.trace_id for e in stored} == {trace_id}


def test_tags_come_from_the_span_and_the_resource(app_environment, team):
    with (
        instrumented(OpenLLMetryOpenAIInstrumentor(), exporter=OTLPSpanExporter()) as provider,
        task(provider, customer="cust_42"),
    ):
        openai_calls(app_environment)
    event = events()[0]
    assert (event.team_id, event.product_tag, event.environment.slug, event.agent, event.customer) == (
        team.id,
        "helpdesk",
        "production",
        "support-bot",
        "cust_42",
    )


def test_the_official_openai_instrumentation_over_gzipped_otlp_json(app_environment, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    with (
        instrumented(OfficialOpenAIInstrumentor(), exporter=JsonSpanExporter()) as provider,
        task(provider, customer="cust_7") as trace_id,
    ):
        openai_calls(app_environment)
    stored = events()
    # This instrumentation reports no cached-token count, so all 1,200 input tokens are billed uncached.
    uncached = oracle(OPENAI_MODEL, "openai", input_tokens=1200, output_tokens=300)
    assert [(e.event_id, e.billed_cost, e.usage_missing, e.trace_id) for e in stored] == [
        ("chatcmpl-1", uncached, False, trace_id),
        ("chatcmpl-2", uncached, False, trace_id),
        ("chatcmpl-3", Decimal("0E-9"), True, trace_id),
    ]


def test_openllmetry_anthropic_calls_count_cache_reads_and_writes(app_environment, monkeypatch, live_server):
    # The base endpoint works too: the exporter appends /v1/traces.
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{live_server.url}/otlp")
    with (
        instrumented(AnthropicInstrumentor(), exporter=OTLPSpanExporter()) as provider,
        task(provider, customer="cust_42"),
    ):
        anthropic_calls(app_environment)
    stored = events()
    assert [(e.event_id, e.input_tokens, e.cache_read_tokens, e.cache_write_tokens) for e in stored] == [
        ("msg_0001", 1300, 1000, 200),
        ("msg_0002", 1300, 1000, 200),
    ]
    assert [e.billed_cost for e in stored] == [ANTHROPIC_COST, ANTHROPIC_COST]


def test_two_instrumentations_on_one_call_store_it_once(app_environment):
    # The official instrumentation, installed second, wraps OpenLLMetry's: OpenLLMetry's span ends
    # and is exported first, so its counts (cache reads included) are the ones stored.
    both = (OpenLLMetryOpenAIInstrumentor(), OfficialOpenAIInstrumentor())
    with instrumented(*both, exporter=OTLPSpanExporter()) as provider, task(provider, customer="cust_42"):
        openai_calls(app_environment)
    assert [(e.event_id, e.billed_cost) for e in events()] == [
        ("chatcmpl-1", OPENAI_COST),
        ("chatcmpl-2", OPENAI_COST),
        ("chatcmpl-3", Decimal("0E-9")),
    ]


def test_two_spans_of_one_call_in_one_export_store_it_once(app_environment):
    both = (OpenLLMetryOpenAIInstrumentor(), OfficialOpenAIInstrumentor())
    with instrumented(*both, exporter=OTLPSpanExporter(), batch=True) as provider, task(provider, customer="c"):
        openai_calls(app_environment)
    # One request held both spans of each call; the first with token counts (OpenLLMetry's) is kept.
    assert [(e.event_id, e.billed_cost, e.usage_missing) for e in events()] == [
        ("chatcmpl-1", OPENAI_COST, False),
        ("chatcmpl-2", OPENAI_COST, False),
        ("chatcmpl-3", Decimal("0E-9"), True),
    ]
