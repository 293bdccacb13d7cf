"""Responses, embeddings, the async SDKs, a client leaving mid-stream, and Redis being down."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import anthropic
import openai
import pytest
from django.db import OperationalError

from apps.usage.models import UsageEvent

from .conftest import gateway_serve

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def _prices(prices):
    pass


def _event_when_stored(**filters) -> UsageEvent:
    deadline = time.monotonic() + 15
    while True:
        try:
            if (found := UsageEvent.objects.filter(**filters)).exists():
                return found.get()
        except OperationalError as exc:
            # The suite's SQLite database is shared in memory: while the gateway's thread writes,
            # a read is refused at once ("table is locked") instead of waiting.
            if "locked" not in str(exc):
                raise
        assert time.monotonic() < deadline, f"no event {filters}"
        time.sleep(0.05)


def test_a_response_is_recorded_with_cached_and_reasoning_tokens(openai_client):
    response = openai_client.responses.create(model="gpt-4.1", input="Hi")

    event = UsageEvent.objects.get()
    assert (event.event_id, event.model) == (response.id, "gpt-4.1-2025-04-14")
    assert (event.input_tokens, event.cache_read_tokens, event.output_tokens, event.reasoning_tokens) == (
        800,
        300,
        400,
        150,
    )
    # 500 × $2 + 300 × $0.50 + 400 × $8, per million
    assert event.billed_cost == Decimal("0.004350000")


def test_a_streamed_response_is_recorded_from_its_completed_event(openai_client):
    stream = openai_client.responses.create(model="gpt-4.1", input="Hi", stream=True)
    kinds = [event.type for event in stream]

    assert kinds[-1] == "response.completed"
    assert UsageEvent.objects.get().billed_cost == Decimal("0.004350000")


def test_an_embedding_is_recorded(openai_client):
    openai_client.embeddings.create(model="text-embedding-3-small", input="Hi")

    event = UsageEvent.objects.get()
    assert (event.input_tokens, event.billed_cost) == (50, Decimal("0.000001000"))
    assert event.event_id.startswith("gw-")


def test_the_async_sdks_work_unchanged(gateway_server, api_key):
    async def calls():
        openai_client = openai.AsyncOpenAI(base_url=f"{gateway_server.url}/gateway/openai/v1", api_key=api_key.raw_key)
        anthropic_client = anthropic.AsyncAnthropic(
            base_url=f"{gateway_server.url}/gateway/anthropic", api_key=api_key.raw_key
        )
        stream = await openai_client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
        chunks = [chunk async for chunk in stream]
        message = await anthropic_client.messages.create(model="claude-test-4", max_tokens=5, messages=HI)
        return chunks, message

    chunks, message = asyncio.run(calls())

    assert len(chunks) == 7
    assert sorted(UsageEvent.objects.values_list("billed_cost", flat=True)) == [
        Decimal("0.005750000"),
        Decimal("0.026850000"),
    ]
    assert message.usage.output_tokens == 500


def test_a_client_leaving_mid_stream_still_gets_its_event(anthropic_client, provider):
    provider.release.clear()
    with anthropic_client.messages.stream(model="claude-test-4", max_tokens=5, messages=HI) as stream:
        first = next(iter(stream))
    assert first.type == "message_start"

    event = _event_when_stored(outcome="client_disconnected")
    provider.release.set()
    # What the provider reported so far: message_start's input and its first output token.
    assert (event.event_id, event.input_tokens, event.output_tokens) == ("msg_0001", 6000, 1)


def test_with_redis_down_the_gateway_writes_to_the_database_directly(provider, settings, monkeypatch, api_key):
    server = gateway_serve(
        provider=provider, settings=settings, monkeypatch=monkeypatch, redis_url="redis://127.0.0.1:1/0"
    )
    try:
        client = openai.OpenAI(base_url=f"{server.url}/gateway/openai/v1", api_key=api_key.raw_key, max_retries=0)
        completion = client.chat.completions.create(model="gpt-4o", messages=HI)
    finally:
        server.stop()

    assert UsageEvent.objects.get().event_id == completion.id
