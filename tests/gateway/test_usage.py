"""The providers' usage mapped onto the canonical event's token counts (pure functions)."""

from __future__ import annotations

from apps.gateway.streams import StreamReader, sse_next
from apps.gateway.usage import CallUsage, anthropic_tokens, openai_chat_tokens, service_tier


def test_openai_prompt_tokens_already_include_the_cached_ones():
    tokens = openai_chat_tokens(
        {
            "prompt_tokens": 100,
            "completion_tokens": 40,
            "prompt_tokens_details": {"cached_tokens": 30},
            "completion_tokens_details": {"reasoning_tokens": 10},
        }
    )
    assert (tokens["input_tokens"], tokens["cache_read_tokens"], tokens["output_tokens"]) == (100, 30, 40)
    assert tokens["reasoning_tokens"] == 10


def test_anthropic_input_tokens_get_cache_reads_and_writes_added_back():
    tokens = anthropic_tokens(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 20,
            "cache_creation_input_tokens": 30,
            "cache_creation": {"ephemeral_5m_input_tokens": 5, "ephemeral_1h_input_tokens": 25},
            "output_tokens": 7,
        }
    )
    assert (tokens["input_tokens"], tokens["cache_read_tokens"], tokens["cache_write_tokens"]) == (60, 20, 30)
    assert tokens["cache_write_1h_tokens"] == 25


def test_missing_or_malformed_counts_read_as_zero():
    assert anthropic_tokens({"input_tokens": "many", "output_tokens": None})["input_tokens"] == 0


def test_a_tier_the_canonical_event_does_not_know_is_standard():
    assert [service_tier(t) for t in ("default", "flex", "priority", "scale", None)] == [
        "standard",
        "flex",
        "priority",
        "standard",
        "standard",
    ]


def test_server_sent_events_split_on_either_line_ending():
    assert sse_next(b"data: 1\r\n\r\ndata: 2\n\n") == (b"data: 1\r\n\r\n", b"data: 2\n\n")
    assert sse_next(b"data: partial") is None


def test_the_usage_chunk_is_hidden_only_when_the_gateway_asked_for_it():
    usage_chunk = b'data: {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5}}\n\n'
    hidden = StreamReader(CallUsage(provider="openai", endpoint="chat"), hide_usage=True)
    shown = StreamReader(CallUsage(provider="openai", endpoint="chat"), hide_usage=False)

    assert hidden.read(usage_chunk) == (True, False)
    assert shown.read(usage_chunk) == (False, False)
    assert hidden.read(b"data: [DONE]\n\n") == (False, True)
    assert hidden.call.tokens["input_tokens"] == 5
