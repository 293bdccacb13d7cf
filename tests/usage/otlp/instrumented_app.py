"""An app instrumented as a team would: the OpenTelemetry SDK configured by environment variables,
a public GenAI instrumentation, and the official provider SDKs calling the fake provider."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anthropic
import openai
from opentelemetry import baggage, context
from opentelemetry.processor.baggage import ALLOW_ALL_BAGGAGE_KEYS, BaggageSpanProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

HELLO = [{"role": "user", "content": "Hello?"}]


@contextmanager
def instrumented(*instrumentors, exporter, batch: bool = False) -> Iterator[TracerProvider]:
    """A tracer provider whose resource comes from OTEL_RESOURCE_ATTRIBUTES, exporting each span
    as it ends (so the export is done when the call returns), or with `batch` many spans per
    export, flushed when the block ends; with the instrumentors installed."""
    provider = TracerProvider(resource=Resource.create())
    # Baggage entries become attributes of every span started under them (attribution.customer).
    provider.add_span_processor(BaggageSpanProcessor(ALLOW_ALL_BAGGAGE_KEYS))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        provider.shutdown()


@contextmanager
def task(provider: TracerProvider, *, customer: str) -> Iterator[str]:
    """One agent task: a parent span (its trace id yielded as hex) and the customer in baggage."""
    token = context.attach(baggage.set_baggage("attribution.customer", customer))
    try:
        with provider.get_tracer("support-bot").start_as_current_span("answer-ticket") as span:
            yield format(span.get_span_context().trace_id, "032x")
    finally:
        context.detach(token)


def openai_calls(base_url: str) -> None:
    """A plain call, a stream that asks for usage, and one that does not (its usage is unknown)."""
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True):
        pass


def anthropic_calls(base_url: str, *, sdk_tracing: TracerProvider | None = None) -> None:
    """A plain call and a streamed one; with `sdk_tracing`, the SDK's own spans go to that provider
    (else they are off)."""
    telemetry = {"tracer_provider": sdk_tracing} if sdk_tracing else False
    client = anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0, open_telemetry=telemetry)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=HELLO)
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=HELLO) as stream:
        for _ in stream:
            pass
