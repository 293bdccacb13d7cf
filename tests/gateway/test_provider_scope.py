"""The gateway stores the provider scope a call bills to: its credential's, or OpenAI's openai-project header."""

from __future__ import annotations

import pytest

from apps.gateway.services import provider_credential_set
from apps.usage.models import UsageEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def _prices(prices):
    pass


def test_an_anthropic_call_stores_its_credentials_workspace(gateway_server, anthropic_client, team):
    credential = provider_credential_set(provider="anthropic", team=team, raw_key="sk-ant-search-1111")
    credential.provider_scope = "wrkspc_search"
    credential.save()
    gateway_server.refresh()

    anthropic_client.messages.create(model="claude-test-4", max_tokens=5, messages=HI)

    assert UsageEvent.objects.get().provider_scope == "wrkspc_search"


def test_an_openai_call_stores_the_project_the_provider_says_it_billed(gateway_server, openai_client, team):
    credential = provider_credential_set(provider="openai", team=team, raw_key="sk-search-2222")
    credential.project, credential.provider_scope = "proj_search", "proj_configured"
    credential.save()
    gateway_server.refresh()

    openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    # The upstream answers with openai-project: proj_search (the header the credential sent).
    assert UsageEvent.objects.get().provider_scope == "proj_search"


def test_a_call_without_a_scoped_credential_takes_the_keys_scope(gateway_server, openai_client, api_key):
    api_key.provider_scopes = {"openai": "proj_from_key"}
    api_key.save()
    gateway_server.refresh()

    openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    assert UsageEvent.objects.get().provider_scope == "proj_from_key"


def test_the_person_header_names_who_made_the_call(openai_client, provider):
    openai_client.chat.completions.create(
        model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Person": "ada@example.com"}
    )

    headers = {name.lower() for name in provider.requests[0]["headers"]}
    assert "x-attribution-person" not in headers  # never forwarded upstream
    assert UsageEvent.objects.get().person == "ada@example.com"


def test_a_clients_scope_header_does_not_beat_the_credentials_scope(gateway_server, anthropic_client, team):
    credential = provider_credential_set(provider="anthropic", team=team, raw_key="sk-ant-search-1111")
    credential.provider_scope = "wrkspc_search"
    credential.save()
    gateway_server.refresh()

    anthropic_client.messages.create(
        model="claude-test-4", max_tokens=5, messages=HI, extra_headers={"X-Attribution-Provider-Scope": "wrkspc_x"}
    )

    assert UsageEvent.objects.get().provider_scope == "wrkspc_search"
