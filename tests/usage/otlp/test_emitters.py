"""Which emitter a span names, and whether its input count includes the cached tokens: decided by
what the span says about itself (scope, attribute prefixes, resource), never by its numbers."""

from __future__ import annotations

import pytest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

from apps.usage.otlp import emitters
from apps.usage.otlp.emitters import emitter_of, version_tuple
from apps.usage.otlp.mapping import span_event

from .spans import chat, span


def named(scope_name: str = "", scope_version: str = "", attributes=None, resource=None):
    return emitter_of(
        scope_name=scope_name, scope_version=scope_version, attributes=attributes or {}, resource=resource or {}
    )


@pytest.mark.parametrize(
    ("scope_name", "scope_version", "emitter"),
    [
        ("com.anthropic.sdk.python", "2.16.0", emitters.ANTHROPIC_SDK),
        ("com.anthropic.sdk.python.bedrock", "2.16.0", emitters.ANTHROPIC_SDK),
        ("opentelemetry.instrumentation.anthropic", "0.62.4", emitters.OPENLLMETRY),
        ("opentelemetry.instrumentation.anthropic", "0.33.0", emitters.OPENLLMETRY_BEFORE_CACHE),
        ("opentelemetry.instrumentation.openai.v1", "0.62.4", emitters.OPENLLMETRY),
        ("opentelemetry.instrumentation.openai.v1", "0.20.0", emitters.OPENLLMETRY),
        ("opentelemetry.util.genai.handler", "1.1b0", emitters.OPENTELEMETRY_GENAI),
        ("opentelemetry.instrumentation.openai_v2", "2.0b0", emitters.OPENTELEMETRY_GENAI),
        ("openlit.otel.tracing", "", emitters.OPENLIT),
        ("my-own-tracer", "1.0", emitters.CONVENTIONS),
        ("", "", emitters.CONVENTIONS),
    ],
)
def test_the_instrumentation_scope_names_the_emitter(scope_name, scope_version, emitter):
    assert named(scope_name, scope_version) == emitter


def test_the_anthropic_sdks_own_prefix_names_it_when_the_scope_does_not():
    attributes = {"anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 5}
    assert named(attributes=attributes) == emitters.ANTHROPIC_SDK


def test_openlits_resource_names_it_when_the_scope_does_not():
    assert named(resource={"telemetry.sdk.name": "openlit"}) == emitters.OPENLIT


def test_only_emitters_that_copy_anthropics_own_count_leave_the_cache_out_of_the_input():
    uncached = [
        emitter.name
        for emitter in (
            emitters.CONVENTIONS,
            emitters.ANTHROPIC_SDK,
            emitters.OPENLLMETRY,
            emitters.OPENLLMETRY_BEFORE_CACHE,
            emitters.OPENTELEMETRY_GENAI,
            emitters.OPENLIT,
        )
        if not emitter.input_includes_cache("anthropic")
    ]
    assert uncached == ["OpenLLMetry before 0.34", "OpenLIT"]
    assert emitters.OPENLIT.input_includes_cache("openai")


def test_version_strings_read_as_release_numbers():
    assert [version_tuple(v) for v in ("0.62.4", "2.4b0", "v1.2", "main")] == [(0, 62, 4), (2, 4), (1, 2), ()]


ANTHROPIC_CALL = {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_creation.input_tokens": 200,
}


@pytest.mark.parametrize(
    ("scope_name", "provider", "input_tokens"),
    [
        # OpenLIT writes Anthropic's own input_tokens: the cache reads and writes are added.
        ("openlit.otel.tracing", "anthropic", 1300),
        # OpenAI's prompt_tokens already counts cached tokens, whoever copies it.
        ("openlit.otel.tracing", "openai", 100),
        # By the conventions the count includes them, even when it is smaller than they are.
        ("", "anthropic", 100),
    ],
)
def test_the_emitter_decides_whether_the_cached_tokens_are_added(scope_name, provider, input_tokens):
    attributes = chat(**{**ANTHROPIC_CALL, "gen_ai.provider.name": provider})
    event = span_event(span(attributes), resource={}, scope=InstrumentationScope(name=scope_name))
    assert event["input_tokens"] == input_tokens
