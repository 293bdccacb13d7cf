"""Model rules: models a workload may call and the output it may ask for, refused or clamped before spend."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from apps.gateway.models import ModelRule, ModelRuleHit
from apps.usage.models import UsageEvent
from tests.factories import ApiKeyFactory, EnvironmentFactory, ProductFactory

from .conftest import anthropic_for, openai_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


def rule(**fields) -> ModelRule:
    return ModelRule.objects.create(**{"name": "Search models", **fields})


def hits(gateway_server) -> dict[tuple[str, str, str], int]:
    """The counts the team page reads, once the gateway flushed what it counted."""
    gateway_server.run(gateway_server.gateway.rule_hits_flush())
    return {(h.rule.name, h.team.slug, h.outcome): h.count for h in ModelRuleHit.objects.select_related("rule", "team")}


def test_a_denied_model_is_refused_with_403_naming_the_rule(gateway_server, provider, api_key, team):
    rule(team=team, denied_models="gpt-4o*, claude-opus-*")
    gateway_server.refresh()

    with pytest.raises(
        openai.PermissionDeniedError,
        match="Model rule 'Search models' refuses this call: model 'gpt-4o-mini' is denied",
    ):
        openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o-mini", messages=HI)
    with pytest.raises(anthropic.PermissionDeniedError, match="'claude-opus-4-1' is denied"):
        anthropic_for(gateway_server, api_key.raw_key).messages.create(
            model="claude-opus-4-1", max_tokens=5, messages=HI
        )

    assert provider.requests == []
    assert not UsageEvent.objects.exists()
    assert hits(gateway_server) == {("Search models", "search", "refused"): 2}


def test_only_the_allowed_patterns_pass(gateway_server, provider, api_key, team, prices):
    rule(team=team, allowed_models="gpt-4.1*\nclaude-test-*")
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)

    client.chat.completions.create(model="gpt-4.1", messages=HI)
    anthropic_for(gateway_server, api_key.raw_key).messages.create(model="claude-test-4", max_tokens=5, messages=HI)
    with pytest.raises(
        openai.PermissionDeniedError, match=r"not among the allowed models \(gpt-4.1\*, claude-test-\*\)"
    ):
        client.chat.completions.create(model="gpt-4o", messages=HI)

    assert [json.loads(r["body"])["model"] for r in provider.requests] == ["gpt-4.1", "claude-test-4"]


def test_a_rule_holds_only_the_calls_of_its_product_environment_and_feature(
    gateway_server, provider, api_key, team, prices
):
    ProductFactory(slug="assistant", team=team)
    rule(
        product=team.products.get(slug="assistant"),
        environment=EnvironmentFactory(slug="staging"),
        feature="chat",
        denied_models="gpt-4o",
    )
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)

    client.chat.completions.create(model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Product": "assistant"})
    client.chat.completions.create(model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Feature": "chat"})
    with pytest.raises(openai.PermissionDeniedError, match="Search models"):
        client.chat.completions.create(
            model="gpt-4o",
            messages=HI,
            extra_headers={"X-Attribution-Product": "assistant", "X-Attribution-Feature": "Chat"},
        )

    assert len(provider.requests) == 2


def test_an_output_cap_refuses_a_larger_request(gateway_server, provider, api_key, team, prices):
    rule(team=team, max_output_tokens=100)
    gateway_server.refresh()

    with pytest.raises(anthropic.PermissionDeniedError, match="max_tokens 500 is above its cap of 100"):
        anthropic_for(gateway_server, api_key.raw_key).messages.create(
            model="claude-test-4", max_tokens=500, messages=HI
        )
    anthropic_for(gateway_server, api_key.raw_key).messages.create(model="claude-test-4", max_tokens=100, messages=HI)
    openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)  # asks no cap

    assert len(provider.requests) == 2


def test_a_clamping_rule_lowers_the_request_to_its_cap(gateway_server, provider, api_key, team, prices):
    rule(team=team, max_output_tokens=256, over_cap=ModelRule.OverCap.CLAMP)
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)

    client.chat.completions.create(model="gpt-4o", messages=HI, max_completion_tokens=5000)
    client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=100)  # under the cap: as sent
    client.chat.completions.create(model="gpt-4o", messages=HI)  # no cap asked: the provider's default is unbounded
    client.responses.create(model="gpt-4o", input="Hi", max_output_tokens=9000)

    sent = [json.loads(r["body"]) for r in provider.requests]
    assert [s.get("max_completion_tokens") for s in sent[:3]] == [256, None, 256]
    assert sent[1]["max_tokens"] == 100
    assert sent[3]["max_output_tokens"] == 256
    assert hits(gateway_server) == {("Search models", "search", "clamped"): 3}


def test_a_rule_in_warn_mode_passes_the_call_flags_its_event_and_counts_it(
    gateway_server, provider, api_key, team, prices
):
    rule(team=team, denied_models="gpt-4o", mode=ModelRule.Mode.WARN)
    gateway_server.refresh()

    openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    event = UsageEvent.objects.get(source="gateway")
    assert event.attributes["gateway_warning_model_rule"] == "Search models: model 'gpt-4o' is denied"
    assert hits(gateway_server) == {("Search models", "search", "warned"): 1}


def test_a_rule_of_another_team_or_an_inactive_rule_refuses_nothing(
    gateway_server, provider, api_key, other_team, team, prices
):
    rule(team=other_team, denied_models="*")
    rule(name="Off", denied_models="*", active=False)
    gateway_server.refresh()

    openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    assert len(provider.requests) == 1


def test_hits_from_several_flushes_add_up(gateway_server, provider, team):
    key = ApiKeyFactory(team=team, default_tags={"environment": "staging"})
    rule(denied_models="gpt-4o")
    gateway_server.refresh()
    for _ in range(2):
        with pytest.raises(openai.PermissionDeniedError):
            openai_for(gateway_server, key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
        hits(gateway_server)

    assert hits(gateway_server) == {("Search models", "search", "refused"): 2}


def test_a_clamped_stream_still_asks_for_its_usage_chunk(gateway_server, provider, api_key, team, prices):
    rule(team=team, max_output_tokens=64, over_cap=ModelRule.OverCap.CLAMP)
    gateway_server.refresh()

    stream = openai_for(gateway_server, api_key.raw_key).chat.completions.create(
        model="gpt-4o", messages=HI, max_completion_tokens=1000, stream=True
    )
    chunks = list(stream)

    sent = json.loads(provider.requests[0]["body"])
    assert (sent["max_completion_tokens"], sent["stream_options"]) == (64, {"include_usage": True})
    assert all(chunk.usage is None for chunk in chunks)  # the usage chunk the gateway asked for is not relayed
    assert UsageEvent.objects.get(source="gateway").output_tokens == 300
