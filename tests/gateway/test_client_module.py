"""The client module: SDK clients pointed at the gateway with default tags, and per-call tags."""

from __future__ import annotations

import asyncio

import pytest
from attribution_gateway import anthropic_client, openai_client, tags

from apps.usage.models import UsageEvent

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


def test_default_tags_and_a_per_call_customer_reach_the_event(gateway_server, api_key):
    client = openai_client(gateway_url=gateway_server.url, api_key=api_key.raw_key, feature="chat", agent="helper")

    with tags(customer="acme"):
        client.chat.completions.create(model="gpt-4o", messages=HI)
    client.chat.completions.create(model="gpt-4o", messages=HI)

    first, second = UsageEvent.objects.order_by("id")
    assert (first.feature, first.agent, first.customer) == ("chat", "helper", "acme")
    assert (second.feature, second.customer) == ("chat", "")


def test_the_async_anthropic_client_carries_the_tags_of_its_task(gateway_server, api_key, monkeypatch):
    monkeypatch.setenv("ATTRIBUTION_GATEWAY_URL", gateway_server.url)
    monkeypatch.setenv("ATTRIBUTION_API_KEY", api_key.raw_key)
    client = anthropic_client(asynchronous=True, feature="triage")

    async def call(customer: str):
        with tags(customer=customer):
            await client.messages.create(model="claude-test-4", max_tokens=5, messages=HI)

    async def both():
        await asyncio.gather(call("one"), call("two"))

    asyncio.run(both())

    assert sorted(UsageEvent.objects.values_list("customer", "feature")) == [("one", "triage"), ("two", "triage")]


def test_an_unknown_tag_is_refused_at_once():
    with pytest.raises(TypeError, match="Unknown tags: costumer"), tags(costumer="acme"):
        pass
