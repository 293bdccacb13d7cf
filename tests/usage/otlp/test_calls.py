"""Spans that report one response are one call: which span becomes the event, and which spans are
named as problems (pure functions, no database)."""

from __future__ import annotations

from apps.usage.event import event_values
from apps.usage.otlp.calls import request_events

from .anthropic_spans import OPENLLMETRY, SDK
from .spans import NOW, export_request, span

A, B = "00000000000000a1", "00000000000000b2"


def mapped(*spans):
    return request_events(export_request(*spans), now=NOW)


def test_two_agreeing_spans_give_one_event_from_the_one_with_more_token_detail():
    result = mapped(span(OPENLLMETRY, span_id=A), span(SDK, span_id=B))
    assert [(e["event_id"], e["cache_write_1h_tokens"]) for e in map(event_values, result.events)] == [("msg_01", 2000)]
    assert (result.span_ids, result.problems) == ([B], [])


def test_a_span_the_ingestion_would_reject_never_shadows_one_it_would_store():
    # Cache counts above the input count: the ingestion rejects this span, naming input_tokens.
    unstorable = {**SDK, "gen_ai.usage.input_tokens": 10}
    result = mapped(span(unstorable, span_id=A), span(OPENLLMETRY, span_id=B))
    assert result.span_ids == [B]
    assert result.problems == [
        f"span {A}: input_tokens: Must include the cache reads and writes (5000); input_tokens counts all "
        f"input tokens. (span {B} of the same response msg_01 was used instead)"
    ]


def test_disagreeing_spans_keep_the_more_detailed_one_and_name_the_other():
    streamed = {**OPENLLMETRY, "gen_ai.usage.output_tokens": 501}
    result = mapped(span(streamed, span_id=A), span(SDK, span_id=B))
    assert [e["output_tokens"] for e in map(event_values, result.events)] == [500]
    assert result.problems == [
        f"span {A}: disagrees with span {B} on response msg_01 (output_tokens 501≠500); span {B} was used, "
        "as it reports more token counts (5 to 4)"
    ]


def test_of_two_disagreeing_spans_with_as_much_detail_the_first_is_kept():
    result = mapped(span(OPENLLMETRY, span_id=A), span({**OPENLLMETRY, "gen_ai.usage.output_tokens": 9}, span_id=B))
    assert result.span_ids == [A]
    assert result.problems[0].endswith("as it came first with as much detail")


def test_a_span_with_complete_usage_wins_over_one_without():
    bare = {key: value for key, value in SDK.items() if not key.startswith(("gen_ai.usage", "anthropic"))}
    result = mapped(span(bare, span_id=A), span(OPENLLMETRY, span_id=B))
    assert ([e["usage_missing"] for e in map(event_values, result.events)], result.span_ids, result.problems) == (
        [False],
        [B],
        [],
    )


def test_spans_of_different_responses_stay_apart():
    other = {**SDK, "gen_ai.response.id": "msg_02"}
    result = mapped(span(SDK, span_id=A), span(other, span_id=B))
    assert [e["event_id"] for e in map(event_values, result.events)] == ["msg_01", "msg_02"]
