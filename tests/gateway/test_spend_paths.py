"""No call that can spend reaches the provider unseen: other spellings of recorded paths and every
unlisted endpoint, sent by an untagged production key, are all refused before the provider."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from apps.usage.models import UsageEvent
from tests.factories import ProductFactory

from .conftest import raw_call

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHAT = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
MESSAGE = orjson.dumps({"model": "claude-test-4", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]})
RESPONSE = orjson.dumps({"model": "gpt-4.1", "input": "Hi"})

# (spelling, body, canonical upstream path) of recorded paths, as a client could send them.
SPELLINGS = [
    ("/gateway/openai/v1/./chat/completions", CHAT, "/v1/chat/completions"),
    ("/gateway/openai/v1/x/../chat/completions", CHAT, "/v1/chat/completions"),
    ("/gateway/openai/v1/x/%2e%2e/chat/completions", CHAT, "/v1/chat/completions"),
    ("/gateway/openai/v1//chat/completions/", CHAT, "/v1/chat/completions"),
    ("/gateway/openai/v1/chat%2Fcompletions", CHAT, "/v1/chat/completions"),
    ("/gateway/openai/v1/%72esponses", RESPONSE, "/v1/responses"),
    ("/gateway/anthropic/v1/./messages", MESSAGE, "/v1/messages"),
]
# Spellings no provider path has: refused whatever the key and its tags.
REFUSED_SPELLINGS = [
    "/gateway/openai/v1/chat/completions%23",
    "/gateway/openai/v1/responses%3F",
    "/gateway/openai/v1/chat/completions%00",
    "/gateway/openai/v1/chat/completions%0d%0aX-Injected:%201",
    "/gateway/anthropic/v1/messages%23",
]
# Endpoints that spend (or write) without being recorded: refused unless GATEWAY_PASSTHROUGH lists them.
UNLISTED = [
    ("POST", "/gateway/openai/v1/batches"),
    ("POST", "/gateway/openai/v1/files"),
    ("POST", "/gateway/openai/v1/fine_tuning/jobs"),
    ("POST", "/gateway/openai/v1/assistants"),
    ("POST", "/gateway/openai/v1/vector_stores"),
    ("POST", "/gateway/openai/v1/realtime/sessions"),
    ("POST", "/gateway/openai/v1/uploads"),
    ("POST", "/gateway/openai/v1/Chat/Completions"),
    ("POST", "/gateway/openai/v1/chat/completions;v=1"),
    ("DELETE", "/gateway/openai/v1/files/file-1"),
    ("PATCH", "/gateway/openai/v1/fine_tuning/jobs/ft-1"),
    ("PUT", "/gateway/openai/v1/vector_stores/vs-1"),
    ("POST", "/gateway/anthropic/v1/messages/batches"),
    ("POST", "/gateway/anthropic/v1/complete"),
]
# Recorded endpoints beyond chat, responses, embeddings and messages: under the tag policy.
RECORDED = [
    "/gateway/openai/v1/completions",
    "/gateway/openai/v1/images/generations",
    "/gateway/openai/v1/images/edits",
    "/gateway/openai/v1/images/variations",
    "/gateway/openai/v1/audio/speech",
    "/gateway/openai/v1/audio/transcriptions",
    "/gateway/openai/v1/audio/translations",
    "/gateway/openai/v1/moderations",
    "/gateway/anthropic/v1/messages/count_tokens",
]


def test_an_untagged_production_key_reaches_the_provider_by_no_path_and_no_endpoint(
    gateway_server, provider, production_key
):
    gateway_server.refresh()
    answers = {}
    for path, body, _ in SPELLINGS:
        answers[("POST", path)] = raw_call(gateway_server, "POST", path, key=production_key.raw_key, body=body)
    for path in REFUSED_SPELLINGS:
        answers[("POST", path)] = raw_call(gateway_server, "POST", path, key=production_key.raw_key, body=CHAT)
    for method, path in UNLISTED:
        answers[(method, path)] = raw_call(gateway_server, method, path, key=production_key.raw_key, body=b"{}")
    for path in RECORDED:
        answers[("POST", path)] = raw_call(gateway_server, "POST", path, key=production_key.raw_key, body=CHAT)

    assert provider.requests == []
    assert not UsageEvent.objects.exists()
    codes = {call: (answer.status, answer.headers["x-gateway-error"]) for call, answer in answers.items()}
    assert codes == {
        **{("POST", path): (400, "missing_tags") for path, _, _ in SPELLINGS},
        **{("POST", path): (400, "invalid_path") for path in REFUSED_SPELLINGS},
        **{call: (403, "endpoint_not_allowed") for call in UNLISTED},
        **{("POST", path): (400, "missing_tags") for path in RECORDED},
    }
    assert {answer.headers["x-should-retry"] for answer in answers.values()} == {"false"}


def test_a_refused_anthropic_path_is_answered_in_anthropics_format(gateway_server, provider, production_key):
    answer = raw_call(gateway_server, "POST", "/gateway/anthropic/v1/messages/batches", key=production_key.raw_key)

    assert orjson.loads(answer.body)["error"]["type"] == "permission_error"
    assert "GATEWAY_PASSTHROUGH" in orjson.loads(answer.body)["error"]["message"]


def test_a_tagged_call_by_any_spelling_is_recorded_once_and_sent_on_the_canonical_path(
    gateway_server, provider, production_key, team, prices
):
    ProductFactory(slug="assistant", team=team)
    gateway_server.refresh()
    for path, body, _ in SPELLINGS:
        answer = raw_call(
            gateway_server,
            "POST",
            path,
            key=production_key.raw_key,
            body=body,
            headers={"x-attribution-product": "assistant"},
        )
        assert answer.status == 200, (path, answer.body)

    assert [request["path"] for request in provider.requests] == [upstream for _, _, upstream in SPELLINGS]
    events = UsageEvent.objects.order_by("id")
    assert [(e.product.slug, e.unpriced) for e in events] == [("assistant", False)] * len(SPELLINGS)
    assert [e.billed_cost for e in events] == [Decimal("0.005750000")] * 5 + [
        Decimal("0.004350000"),
        Decimal("0.026850000"),
    ]


def test_a_get_passes_through_without_the_tag_policy(gateway_server, provider, production_key):
    answer = raw_call(gateway_server, "GET", "/gateway/openai/v1/./models", key=production_key.raw_key)

    assert answer.status == 200
    assert [request["path"] for request in provider.requests] == ["/v1/models"]
    assert not UsageEvent.objects.exists()
