"""Secrets stay put: a key follows its provider only, a provider's echo of it is masked, the
client's cookies and provider account headers stay behind, and a refusal is not retried."""

from __future__ import annotations

from decimal import Decimal

import httpx
import openai
import pytest

from apps.gateway.credentials import credential_decrypt
from apps.gateway.services import provider_credential_set
from apps.usage.models import UsageEvent
from tests.budgets.spend import Spend, prices_create, today_start
from tests.factories import BudgetFactory

from .conftest import OPENAI_PROVIDER_KEY

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


def _headers(provider, index: int = -1) -> dict[str, str]:
    return {k.lower(): v for k, v in provider.requests[index]["headers"].items()}


def test_changing_a_credentials_provider_requires_its_key_again(admin_client, team):
    credential = provider_credential_set(provider="openai", team=team, raw_key="sk-openai-key-1111")
    url = f"/admin/gateway/providercredential/{credential.pk}/change/"

    refused = admin_client.post(url, {"provider": "anthropic", "team": team.pk, "api_key": ""})

    assert refused.status_code == 200
    assert "enter the API key for the new provider" in refused.content.decode()
    credential.refresh_from_db()
    assert (credential.provider, credential_decrypt(credential.encrypted_key)) == ("openai", "sk-openai-key-1111")

    saved = admin_client.post(url, {"provider": "anthropic", "team": team.pk, "api_key": "sk-ant-new-2222"})

    assert saved.status_code == 302
    credential.refresh_from_db()
    assert (credential.provider, credential_decrypt(credential.encrypted_key)) == ("anthropic", "sk-ant-new-2222")


def test_a_credential_keeps_its_key_when_only_its_project_changes(admin_client, team):
    credential = provider_credential_set(provider="openai", team=team, raw_key="sk-openai-key-1111")

    response = admin_client.post(
        f"/admin/gateway/providercredential/{credential.pk}/change/",
        {"provider": "openai", "team": team.pk, "project": "proj_search", "api_key": ""},
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.project, credential_decrypt(credential.encrypted_key)) == ("proj_search", "sk-openai-key-1111")


def test_a_provider_error_echoing_the_key_reaches_the_client_masked(openai_client, provider):
    provider.error = (401, {"error": {"message": f"Incorrect API key provided: {OPENAI_PROVIDER_KEY}.", "code": "x"}})

    with pytest.raises(openai.AuthenticationError) as error:
        openai_client.chat.completions.create(model="gpt-4o", messages=HI)

    assert OPENAI_PROVIDER_KEY not in error.value.response.text
    assert "Incorrect API key provided: ****0000." in error.value.message


def test_a_passed_through_error_echoing_the_key_is_masked_too(gateway_server, provider, api_key):
    provider.error = (400, {"error": {"message": f"Bad key {OPENAI_PROVIDER_KEY}"}})

    response = httpx.post(
        f"{gateway_server.url}/gateway/openai/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "Hi"},
        headers={"authorization": f"Bearer {api_key.raw_key}"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Bad key ****0000"


def test_cookies_and_the_clients_organisation_and_project_stay_behind(gateway_server, provider, api_key):
    client = openai.OpenAI(
        base_url=f"{gateway_server.url}/gateway/openai/v1",
        api_key=api_key.raw_key,
        organization="org-client",
        project="proj-client",
        max_retries=0,
    )

    client.chat.completions.create(model="gpt-4o", messages=HI, extra_headers={"Cookie": "session=secret"})

    sent = _headers(provider)
    assert {"cookie", "openai-organization", "openai-project"} & set(sent) == set()
    assert sent["authorization"] == f"Bearer {OPENAI_PROVIDER_KEY}"


def test_the_credentials_own_organisation_and_project_are_sent(gateway_server, provider, api_key, team):
    credential = provider_credential_set(provider="openai", team=team, raw_key="sk-search-1111")
    credential.organization, credential.project = "org-company", "proj-search"
    credential.save()
    gateway_server.refresh()
    client = openai.OpenAI(
        base_url=f"{gateway_server.url}/gateway/openai/v1", api_key=api_key.raw_key, project="proj-other", max_retries=0
    )

    client.chat.completions.create(model="gpt-4o", messages=HI)

    sent = _headers(provider)
    assert (sent["openai-organization"], sent["openai-project"]) == ("org-company", "proj-search")


def test_a_budget_refusal_says_do_not_retry_and_the_sdk_does_not(gateway_server, provider, api_key, team):
    BudgetFactory(team=team, monthly_amount=Decimal("1.00"), hard_limit=True)
    prices_create()
    spend = Spend()
    spend.add(today_start(), "1.00", team=team)
    spend.flush()
    gateway_server.refresh()
    sent: list[httpx.Request] = []
    client = openai.OpenAI(
        base_url=f"{gateway_server.url}/gateway/openai/v1",
        api_key=api_key.raw_key,
        max_retries=3,
        http_client=httpx.Client(event_hooks={"request": [sent.append]}),
    )

    with pytest.raises(openai.RateLimitError) as error:
        client.chat.completions.create(model="gpt-4o", messages=HI)

    assert error.value.response.headers["x-should-retry"] == "false"
    assert len(sent) == 1
    assert provider.requests == []
    assert not UsageEvent.objects.filter(source="gateway").exists()


def test_an_unknown_key_is_refused_with_do_not_retry(gateway_server, provider):
    response = httpx.get(f"{gateway_server.url}/gateway/openai/v1/models", headers={"authorization": "Bearer nope"})

    assert (response.status_code, response.headers["x-should-retry"]) == (401, "false")
