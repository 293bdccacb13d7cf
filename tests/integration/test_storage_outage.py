"""Redis and PostgreSQL both down: the gateway answers no call as a success, and refuses calls
before they reach the provider until one of them answers again; the events API answers 503.

PostgreSQL stays up for the other tests: the gateway reaches it through a relay that the test
cuts (every connection closed, new ones refused) and restores."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest
from django.conf import settings

from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EventPayloadFactory
from tests.usage.otlp.spans import chat, export_request, span

from .processes import GatewayProcess, TcpRelay
from .web_server import WebServer

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def relay():
    relay = TcpRelay(target_port=int(settings.DATABASES["default"]["PORT"] or 5432))
    yield relay
    relay.close()


@pytest.fixture
def gateway(tmp_path, redis_server, provider, relay, team):
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})
    process = GatewayProcess(
        log=tmp_path / "gateway.log",
        env={
            "DATABASE_URL": relay.database_url(),
            "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
            "GATEWAY_REDIS_URL": redis_server.url,
            "CACHE_URL": redis_server.url,
            "REDIS_OUTAGE_RETRY_SECONDS": "1",
            "GATEWAY_DRAIN_INTERVAL_SECONDS": "0.2",
            "GATEWAY_OPENAI_UPSTREAM": provider.url,
            "GATEWAY_ANTHROPIC_UPSTREAM": provider.url,
        },
    )
    yield process, key
    process.stop()


def _openai(process, key) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{process.url}/gateway/openai/v1", api_key=key.raw_key, max_retries=0)


def _stored(*event_ids: str) -> set[str]:
    return set(UsageEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))


def _accepted_again(client: openai.OpenAI, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        except openai.InternalServerError as exc:
            assert exc.code == "storage_unavailable"
            assert time.monotonic() < deadline, "calls were still refused after the database came back"
            time.sleep(0.2)


def test_a_stream_whose_event_cannot_be_stored_ends_in_an_error_instead_of_its_end(
    gateway, redis_server, relay, provider
):
    process, key = gateway
    client = _openai(process, key)
    redis_server.kill()
    relay.cut()

    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="could not record the call") as raised:
        for _ in stream:
            pass

    assert raised.value.code == "event_not_stored"
    assert len(provider.requests) == 1


def test_once_nothing_can_store_calls_they_are_refused_before_spend_with_a_retryable_503(
    gateway, redis_server, relay, provider
):
    process, key = gateway
    client = _openai(process, key)
    redis_server.kill()
    relay.cut()
    with pytest.raises(openai.InternalServerError) as unstored:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert (unstored.value.status_code, unstored.value.code) == (503, "event_not_stored")
    spent = len(provider.requests)

    with pytest.raises(openai.InternalServerError) as refused:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(anthropic.InternalServerError) as refused_anthropic:
        anthropic.Anthropic(
            base_url=f"{process.url}/gateway/anthropic", api_key=key.raw_key, max_retries=0
        ).messages.create(model="claude-test-4", max_tokens=10, messages=MESSAGES)

    assert (refused.value.status_code, refused.value.code) == (503, "storage_unavailable")
    assert refused.value.response.headers["x-should-retry"] == "true"
    assert refused.value.response.headers["retry-after"] == "5"
    assert refused_anthropic.value.status_code == 503
    assert refused_anthropic.value.body["error"]["type"] == "api_error"
    assert "not sent to the provider" in refused_anthropic.value.body["error"]["message"]
    assert len(provider.requests) == spent  # neither reached the provider


def test_calls_are_accepted_again_and_stored_once_the_database_is_back(gateway, redis_server, relay):
    process, key = gateway
    client = _openai(process, key)
    before = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    redis_server.kill()
    relay.cut()
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    relay.restore()  # Redis stays down: events go to the database directly
    during = _accepted_again(client)
    assert _stored(during.id) == {during.id}

    redis_server.start()
    time.sleep(1.5)  # past REDIS_OUTAGE_RETRY_SECONDS: the next event goes through Redis again
    after = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    deadline = time.monotonic() + 10
    while _stored(before.id, during.id, after.id) != {before.id, during.id, after.id}:
        assert time.monotonic() < deadline, "the events did not all reach the database"
        time.sleep(0.2)


def _export_body() -> bytes:
    return export_request(span(chat())).SerializeToString()


def test_the_events_api_answers_503_to_retry_while_the_database_is_down(tmp_path, redis_server, relay, team):
    key = ApiKeyFactory(team=team)
    web = WebServer(
        workers=1,
        log=tmp_path / "web.log",
        extra_env={
            "DATABASE_URL": relay.database_url(),
            "REDIS_URL": redis_server.url,
            "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        },
    )
    try:
        web.wait_ready()
        redis_server.kill()
        relay.cut()
        client = httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {key.raw_key}"}, timeout=30)
        event = EventPayloadFactory(event_id="while-down")

        refused = client.post("/api/v1/events", json={"events": [event]})
        otlp = client.post(
            "/otlp/v1/traces", content=_export_body(), headers={"Content-Type": "application/x-protobuf"}
        )
        relay.restore()
        accepted = client.post("/api/v1/events", json={"events": [event]})
    finally:
        web.stop()

    assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
    assert (otlp.status_code, otlp.headers["retry-after"]) == (503, "5")  # an OTLP exporter retries a 503
    assert "nothing was stored" in refused.json()["detail"]
    assert (accepted.status_code, accepted.json()["accepted"]) == (202, 1)
    assert _stored("while-down") == {"while-down"}
