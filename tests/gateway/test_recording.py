"""Calls through the gateway with the official SDKs are recorded once, with the provider's usage, priced exactly."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.usage.models import UsageEvent
from attribution_site import redis_outage

from .conftest import gateway_serve, openai_for
from .server import free_port

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _prices(prices):
    pass


def test_an_openai_chat_completion_is_recorded_with_its_usage_and_exact_cost(openai_client, provider):
    completion = openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])

    assert completion.choices[0].message.content == "Hello"
    event = UsageEvent.objects.get()
    assert event.event_id == completion.id == "chatcmpl-0001"
    assert (event.source, event.provider, event.model) == ("gateway", "openai", "gpt-4o-2024-08-06")
    assert (event.input_tokens, event.cache_read_tokens, event.output_tokens, event.reasoning_tokens) == (
        1200,
        200,
        300,
        100,
    )
    assert event.outcome == "success"
    assert event.billed_cost == Decimal("0.005750000")


def test_an_anthropic_message_adds_cache_reads_and_writes_back_to_its_input(anthropic_client):
    message = anthropic_client.messages.create(
        model="claude-test-4", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
    )

    event = UsageEvent.objects.get()
    assert event.event_id == message.id == "msg_0001"
    assert (event.input_tokens, event.cache_read_tokens, event.cache_write_tokens, event.cache_write_1h_tokens) == (
        6000,
        2000,
        3000,
        2000,
    )
    assert event.output_tokens == 500
    # 1000 × $3 + 2000 × $0.30 + 1000 × $3.75 + 2000 × $6 + 500 × $15, per million
    assert event.billed_cost == Decimal("0.026850000")


def test_the_provider_gets_its_own_key_and_never_the_project_key_or_tags(openai_client, provider, api_key):
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hi"}],
        extra_headers={"X-Attribution-Feature": "summaries"},
    )

    headers = {name.lower(): value for name, value in provider.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-provider-openai-0000"
    assert api_key.raw_key not in json.dumps(headers)
    assert not [name for name in headers if name.startswith("x-attribution-")]
    assert UsageEvent.objects.get().feature == "summaries"


def test_an_openai_chat_stream_is_recorded_and_its_added_usage_chunk_is_hidden(openai_client, provider):
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    chunks = list(stream)

    assert json.loads(provider.requests[0]["body"])["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "word0 word1 word2 word3 word4 "
    event = UsageEvent.objects.get()
    assert (event.event_id, event.input_tokens, event.output_tokens) == ("chatcmpl-0001", 1200, 300)
    assert event.billed_cost == Decimal("0.005750000")
    assert 0 <= int(event.attributes["time_to_first_token_ms"]) <= event.latency_ms


def test_a_client_asking_for_stream_usage_still_receives_it(openai_client):
    stream = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = [chunk.usage for chunk in stream if chunk.usage]

    assert [u.prompt_tokens for u in usage] == [1200]
    assert UsageEvent.objects.get().billed_cost == Decimal("0.005750000")


def test_an_anthropic_stream_takes_usage_from_message_start_and_message_delta(anthropic_client):
    with anthropic_client.messages.stream(
        model="claude-test-4", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        text = "".join(stream.text_stream)

    assert text == "word0 word1 word2 word3 word4 "
    event = UsageEvent.objects.get()
    assert (event.event_id, event.input_tokens, event.output_tokens) == ("msg_0001", 6000, 500)
    assert event.billed_cost == Decimal("0.026850000")


def test_the_stream_first_chunk_arrives_before_the_provider_sends_its_last(openai_client, provider):
    provider.release.clear()
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    first = next(iter(stream))

    assert first.choices[0].delta.role == "assistant"
    assert not provider.last_chunk_sent.is_set()
    provider.release.set()
    list(stream)
    assert UsageEvent.objects.get().output_tokens == 300


def test_a_provider_error_passes_through_unchanged_and_is_recorded_without_tokens(openai_client, provider):
    import openai

    provider.error = (429, {"error": {"message": "Slow down", "type": "rate_limit_exceeded", "code": None}})
    with pytest.raises(openai.RateLimitError, match="Slow down"):
        openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])

    event = UsageEvent.objects.get()
    assert (event.outcome, event.model, event.input_tokens, event.billed_cost) == (
        "rate_limit_exceeded",
        "gpt-4o",
        0,
        Decimal("0E-9"),
    )


def test_a_repeated_response_id_is_stored_once(openai_client, provider):
    provider.response_id = "chatcmpl-same"
    openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])

    assert len(provider.requests) == 2
    assert UsageEvent.objects.filter(event_id="chatcmpl-same").count() == 1


def test_with_redis_unreachable_each_call_is_stored_in_the_database_directly(provider, settings, monkeypatch, api_key):
    """Its event list and its cache on a port nobody listens on: every call still gets its event."""
    down = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": down,
            "OPTIONS": settings.CACHE_REDIS_OPTIONS,
        }
    }
    server = gateway_serve(provider=provider, settings=settings, monkeypatch=monkeypatch, redis_url=down)
    try:
        client = openai_for(server, api_key.raw_key)
        completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        streamed = {chunk.id for chunk in stream}
    finally:
        server.stop()
        redis_outage._down_until.clear()

    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == sorted({completion.id, *streamed})
    assert UsageEvent.objects.get(event_id=completion.id).billed_cost == Decimal("0.005750000")
