"""Provider credentials: the team's own, else the organisation's, else the environment's; encrypted at rest."""

from __future__ import annotations

import pytest

from apps.gateway.credentials import credential_decrypt
from apps.gateway.models import ProviderCredential
from apps.gateway.services import provider_credential_set

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


def _sent_key(provider, index: int, header: str) -> str:
    return {k.lower(): v for k, v in provider.requests[index]["headers"].items()}[header]


def test_the_provider_gets_the_teams_credential_then_the_organisations_then_the_environments(
    gateway_server, provider, openai_client, anthropic_client, team
):
    openai_client.chat.completions.create(model="gpt-4o", messages=HI)
    provider_credential_set(provider="openai", team=None, raw_key="sk-organisation-1111")
    gateway_server.refresh()
    openai_client.chat.completions.create(model="gpt-4o", messages=HI)
    provider_credential_set(provider="openai", team=team, raw_key="sk-search-team-2222")
    provider_credential_set(provider="anthropic", team=team, raw_key="sk-ant-search-3333")
    gateway_server.refresh()
    openai_client.chat.completions.create(model="gpt-4o", messages=HI)
    anthropic_client.messages.create(model="claude-test-4", max_tokens=5, messages=HI)

    assert [_sent_key(provider, i, "authorization") for i in range(3)] == [
        "Bearer sk-provider-openai-0000",
        "Bearer sk-organisation-1111",
        "Bearer sk-search-team-2222",
    ]
    assert _sent_key(provider, 3, "x-api-key") == "sk-ant-search-3333"


def test_a_credential_is_stored_encrypted(db, team):
    provider_credential_set(provider="openai", team=team, raw_key="sk-secret-value-9999")

    stored = ProviderCredential.objects.get()
    assert "sk-secret" not in stored.encrypted_key
    assert credential_decrypt(stored.encrypted_key) == "sk-secret-value-9999"
    assert stored.key_hint == "9999"


def test_the_admin_stores_a_typed_key_encrypted(admin_client, team):
    response = admin_client.post(
        "/admin/gateway/providercredential/add/", {"provider": "anthropic", "team": team.pk, "api_key": "sk-ant-typed"}
    )

    assert response.status_code == 302
    assert credential_decrypt(ProviderCredential.objects.get(team=team).encrypted_key) == "sk-ant-typed"
