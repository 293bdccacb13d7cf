"""Mapping GenAI spans to canonical events: pure functions, no database."""

from __future__ import annotations

import pytest

from apps.usage.event import event_values
from apps.usage.otlp.calls import request_events
from apps.usage.otlp.mapping import SpanUnusable, span_event, span_is_call

from .spans import END, NOW, TRACE_ID, chat, export_request, span


def test_a_span_with_an_operation_name_is_a_provider_call():
    assert span_is_call({"gen_ai.operation.name": "chat"})


def test_a_span_with_only_usage_attributes_is_a_provider_call():
    assert span_is_call({"gen_ai.usage.input_tokens": 3})


def test_an_http_span_is_not_a_provider_call():
    assert not span_is_call({"http.request.method": "POST", "url.full": "https://api.openai.com"})


def test_an_agent_span_is_not_a_provider_call_so_its_summed_usage_is_not_counted_twice():
    assert not span_is_call({"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 9})


def test_it_maps_a_chat_span_to_an_event():
    event = span_event(span(chat()), resource={})
    assert event == {
        "event_id": "chatcmpl-1",
        "timestamp": END.isoformat(),
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "usage_missing": False,
        "outcome": "success",
        "service_tier": "standard",
        "trace_id": TRACE_ID,
        "latency_ms": 1250,
        "attributes": {"gen_ai.operation.name": "chat"},
    }


def test_the_request_model_stands_in_when_the_response_names_none():
    attributes = chat()
    del attributes["gen_ai.response.model"]
    assert span_event(span(attributes), resource={})["model"] == "gpt-4o-mini"


def test_the_older_gen_ai_system_names_the_provider():
    attributes = chat(**{"gen_ai.system": "Anthropic"})
    del attributes["gen_ai.provider.name"]
    assert span_event(span(attributes), resource={})["provider"] == "anthropic"


def test_without_a_response_id_the_event_id_is_the_trace_and_span_id():
    attributes = chat()
    del attributes["gen_ai.response.id"]
    assert span_event(span(attributes), resource={})["event_id"] == f"{TRACE_ID}:eee19b7ec3c1b174"


def test_it_reads_cache_reasoning_and_one_hour_write_counts():
    attributes = chat(
        **{
            "gen_ai.usage.cache_read.input_tokens": 300,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 40,
            "gen_ai.usage.reasoning.output_tokens": 50,
        }
    )
    event = span_event(span(attributes), resource={})
    assert (
        event["input_tokens"],
        event["cache_read_tokens"],
        event["cache_write_tokens"],
        event["cache_write_1h_tokens"],
        event["reasoning_tokens"],
    ) == (1000, 300, 100, 40, 50)


@pytest.mark.parametrize(
    "spelling",
    [
        {"gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 5},
        {"llm.usage.prompt_tokens": 7, "llm.usage.completion_tokens": 5},
    ],
)
def test_it_reads_the_older_prompt_and_completion_spellings(spelling):
    attributes = chat()
    del attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]
    event = span_event(span({**attributes, **spelling}), resource={})
    assert (event["input_tokens"], event["output_tokens"], event["usage_missing"]) == (7, 5, False)


def test_it_reads_openllmetrys_older_cache_spellings():
    attributes = chat(**{"gen_ai.usage.cache_read_input_tokens": 600, "gen_ai.usage.cache_creation_input_tokens": 200})
    event = span_event(span(attributes), resource={})
    assert (event["cache_read_tokens"], event["cache_write_tokens"]) == (600, 200)


def test_an_input_count_below_the_cached_tokens_is_not_guessed_to_be_uncached():
    # A span naming no emitter follows the conventions: its input count already has the cached
    # tokens. Such a span is inconsistent, and the ingestion rejects it naming input_tokens.
    attributes = chat(**{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": 500})
    assert span_event(span(attributes), resource={})["input_tokens"] == 10


def test_the_newest_cache_write_spelling_wins_over_cache_creation():
    attributes = chat(**{"gen_ai.usage.cache_write.input_tokens": 300, "gen_ai.usage.cache_creation.input_tokens": 200})
    assert span_event(span(attributes), resource={})["cache_write_tokens"] == 300


@pytest.mark.parametrize("prefix", ["anthropic.usage.cache_creation", "gen_ai.usage.cache_creation"])
def test_the_five_minute_and_one_hour_split_is_read_from_either_prefix(prefix):
    attributes = chat(
        **{
            "gen_ai.usage.cache_write.input_tokens": 300,
            f"{prefix}.ephemeral_5m_input_tokens": 100,
            f"{prefix}.ephemeral_1h_input_tokens": 200,
        }
    )
    event = span_event(span(attributes), resource={})
    assert (event["cache_write_tokens"], event["cache_write_1h_tokens"]) == (300, 200)


def test_the_split_alone_gives_the_cache_writes():
    attributes = chat(
        **{
            "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 100,
            "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 200,
        }
    )
    event = span_event(span(attributes), resource={})
    assert (event["cache_write_tokens"], event["cache_write_1h_tokens"]) == (300, 200)


def test_writes_the_five_minute_count_leaves_are_one_hour_writes():
    attributes = chat(
        **{
            "gen_ai.usage.cache_write.input_tokens": 300,
            "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 100,
        }
    )
    assert span_event(span(attributes), resource={})["cache_write_1h_tokens"] == 200


def test_a_split_above_the_cache_writes_makes_the_span_unusable_naming_the_attributes():
    attributes = chat(
        **{
            "gen_ai.usage.cache_write.input_tokens": 100,
            "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 200,
        }
    )
    with pytest.raises(SpanUnusable, match=r"ephemeral_1h_input_tokens \(200\) exceed gen_ai\.usage\.cache_write"):
        span_event(span(attributes), resource={})


def test_a_span_without_token_counts_is_flagged_usage_missing():
    attributes = chat()
    del attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]
    event = span_event(span(attributes), resource={})
    assert (event["usage_missing"], event["input_tokens"], event["output_tokens"]) == (True, 0, 0)


def test_token_counts_sent_as_doubles_or_digit_strings_are_read():
    attributes = chat(**{"gen_ai.usage.input_tokens": 12.0, "gen_ai.usage.output_tokens": "4"})
    event = span_event(span(attributes), resource={})
    assert (event["input_tokens"], event["output_tokens"]) == (12, 4)


def test_a_negative_token_count_makes_the_span_unusable_naming_the_attribute():
    with pytest.raises(SpanUnusable, match=r"gen_ai\.usage\.output_tokens must be a non-negative integer"):
        span_event(span(chat(**{"gen_ai.usage.output_tokens": -3})), resource={})


def test_a_span_naming_no_provider_is_unusable():
    attributes = chat()
    del attributes["gen_ai.provider.name"]
    with pytest.raises(SpanUnusable, match=r"gen_ai\.provider\.name"):
        span_event(span(attributes), resource={})


def test_tags_come_from_the_span_before_the_resource():
    resource = {"attribution.team": "payments", "attribution.product": "checkout", "attribution.feature": "f"}
    attributes = chat(**{"attribution.team": "search", "attribution.customer": "cust_9"})
    event = span_event(span(attributes), resource=resource)
    assert (event["team"], event["product"], event["customer"], event["feature"]) == (
        "search",
        "checkout",
        "cust_9",
        "f",
    )


def test_the_agent_falls_back_to_the_gen_ai_agent_name_then_the_service_name():
    named = span_event(span(chat(**{"gen_ai.agent.name": "triage"})), resource={"service.name": "api"})
    unnamed = span_event(span(chat()), resource={"service.name": "api"})
    assert (named["agent"], unnamed["agent"]) == ("triage", "api")


@pytest.mark.parametrize("key", ["deployment.environment.name", "deployment.environment"])
def test_the_environment_comes_from_the_resources_deployment_environment(key):
    assert span_event(span(chat()), resource={key: "prod"})["environment"] == "prod"


def test_a_failed_call_carries_its_error_type_as_outcome():
    event = span_event(span(chat(**{"error.type": "RateLimitError"}), error=True), resource={})
    assert event["outcome"] == "RateLimitError"


def test_openais_default_service_tier_is_standard_and_flex_is_kept():
    default = span_event(span(chat(**{"gen_ai.openai.response.service_tier": "default"})), resource={})
    flex = span_event(span(chat(**{"gen_ai.openai.response.service_tier": "flex"})), resource={})
    assert (default["service_tier"], flex["service_tier"]) == ("standard", "flex")


def test_two_spans_of_one_response_give_one_event_the_one_with_usage():
    bare = chat()
    del bare["gen_ai.usage.input_tokens"], bare["gen_ai.usage.output_tokens"]
    request = export_request(span(bare, span_id="00000000000000a1"), span(chat(), span_id="00000000000000a2"))
    mapped = request_events(request, now=NOW)
    assert [(e["event_id"], e["usage_missing"]) for e in map(event_values, mapped.events)] == [("chatcmpl-1", False)]
    assert mapped.span_ids == ["00000000000000a2"]


def test_a_request_ignores_other_spans_and_reports_unusable_ones():
    unusable = chat(**{"gen_ai.response.id": "chatcmpl-2"})
    del unusable["gen_ai.provider.name"]
    request = export_request(
        span({"http.request.method": "GET"}, span_id="00000000000000b1"),
        span(chat(), span_id="00000000000000b2"),
        span(unusable, span_id="00000000000000b3"),
    )
    mapped = request_events(request, now=NOW)
    assert [e["event_id"] for e in map(event_values, mapped.events)] == ["chatcmpl-1"]
    assert mapped.problems == ["span 00000000000000b3: gen_ai.provider.name (or gen_ai.system) is missing"]
