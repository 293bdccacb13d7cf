"""A call that fails after reaching the provider is answered in the provider's error format and
stored with its outcome, its usage unknown; one that never reached it is not stored."""

from __future__ import annotations

import anthropic
import openai
import pytest

from apps.usage.models import UsageEvent

from .conftest import gateway_serve, openai_for

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


def test_an_upstream_html_502_is_answered_in_openais_format_and_recorded(openai_client, provider):
    provider.raw_error = (502, b"<html><body>Bad gateway</body></html>", "text/html")

    with pytest.raises(openai.InternalServerError, match="The provider answered 502") as error:
        openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    assert error.value.response.headers["content-type"] == "application/json"
    event = UsageEvent.objects.get()
    assert (event.outcome, event.usage_missing, event.model, event.input_tokens) == ("http_502", True, "gpt-4o", 0)


def test_an_anthropic_overload_is_relayed_and_recorded_with_its_error_type(anthropic_client, provider):
    provider.error = (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})

    with pytest.raises(anthropic.InternalServerError, match="Overloaded"):
        anthropic_client.messages.create(model="claude-test-4", max_tokens=5, messages=HI)

    event = UsageEvent.objects.get()
    assert (event.outcome, event.usage_missing) == ("overloaded_error", True)


def test_a_provider_4xx_is_recorded_as_costing_nothing(openai_client, provider):
    provider.error = (400, {"error": {"message": "Bad request", "type": "invalid_request_error"}})

    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    assert (UsageEvent.objects.get().outcome, UsageEvent.objects.get().usage_missing) == (
        "invalid_request_error",
        False,
    )


@pytest.fixture
def impatient_server(db, provider, settings, monkeypatch):
    settings.GATEWAY_UPSTREAM_TIMEOUT_SECONDS = 0.5
    server = gateway_serve(provider=provider, settings=settings, monkeypatch=monkeypatch)
    yield server
    server.stop()


def test_an_upstream_timeout_is_a_504_in_the_providers_format_and_recorded(impatient_server, provider, api_key):
    provider.delay = 1.5

    with pytest.raises(openai.InternalServerError, match="The provider did not answer: ReadTimeout") as error:
        openai_for(impatient_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    assert error.value.status_code == 504
    event = UsageEvent.objects.get()
    assert (event.outcome, event.usage_missing, event.model) == ("upstream_timeout", True, "gpt-4o")


def test_a_connection_lost_after_the_request_is_a_502_and_recorded(openai_client, provider):
    provider.drop = True

    with pytest.raises(openai.InternalServerError, match="The provider did not answer") as error:
        openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    assert error.value.status_code == 502
    assert (UsageEvent.objects.get().outcome, UsageEvent.objects.get().usage_missing) == ("upstream_disconnected", True)


def test_an_unreachable_provider_is_a_502_and_nothing_is_stored(gateway_server, api_key, settings):
    gateway_server.gateway.upstreams["openai"] = "http://127.0.0.1:1"

    with pytest.raises(openai.InternalServerError, match="could not be reached: ConnectError"):
        openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    assert not UsageEvent.objects.exists()


def test_a_json_answer_cut_halfway_is_a_502_and_recorded_with_its_usage_unknown(openai_client, provider):
    provider.cut = True

    with pytest.raises(openai.InternalServerError, match="The provider did not answer") as error:
        openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    assert error.value.status_code == 502
    event = UsageEvent.objects.get()
    assert (event.outcome, event.usage_missing, event.model, event.input_tokens) == (
        "upstream_disconnected",
        True,
        "gpt-4o",
        0,
    )
