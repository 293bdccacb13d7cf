"""Events carry the provider scope they bill to: sent with the event, or named on the key per provider."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.usage.models import ApiKey, UsageEvent
from apps.usage.otlp.mapping import span_event
from tests.factories import EventPayloadFactory

from .otlp.spans import chat, span

pytestmark = pytest.mark.django_db


def test_an_event_stores_the_scope_it_sent(send, price):
    send(EventPayloadFactory(provider_scope="wrkspc_01AbC"))

    assert UsageEvent.objects.get().provider_scope == "wrkspc_01AbC"


def test_an_event_without_a_scope_takes_its_keys_scope_for_its_provider(send, api_key, price):
    api_key.provider_scopes = {"anthropic": "wrkspc_search", "openai": "proj_search"}
    api_key.save()

    send(EventPayloadFactory(event_id="a"), EventPayloadFactory(event_id="b", provider_scope="wrkspc_other"))

    assert dict(UsageEvent.objects.values_list("event_id", "provider_scope")) == {
        "a": "wrkspc_search",
        "b": "wrkspc_other",
    }


def test_a_scope_longer_than_its_column_is_refused_naming_the_field(send, price):
    body = send(EventPayloadFactory(provider_scope="w" * 256), status=422)

    assert list(body["rejected"][0]["errors"]) == ["provider_scope"]


def test_otlp_reads_the_scope_and_person_from_attribution_attributes():
    attributes = chat(**{"attribution.provider_scope": "proj_abc", "attribution.person": "ada@example.com"})

    event = span_event(span(attributes), resource={})

    assert (event["provider_scope"], event["person"]) == ("proj_abc", "ada@example.com")


def test_create_api_key_names_one_scope_per_provider(team):
    call_command(
        "create_api_key",
        *("--team", "search", "--name", "svc"),
        *("--provider-scope", "anthropic=wrkspc_1", "--provider-scope", "openai=proj_1"),
        stdout=StringIO(),
    )

    assert ApiKey.objects.get().provider_scopes == {"anthropic": "wrkspc_1", "openai": "proj_1"}


def test_create_api_key_refuses_two_scopes_for_one_provider(team):
    with pytest.raises(CommandError, match="one scope per provider"):
        call_command(
            "create_api_key",
            *("--team", "search", "--name", "svc"),
            *("--provider-scope", "anthropic=wrkspc_1", "--provider-scope", "anthropic=wrkspc_2"),
            stdout=StringIO(),
        )


def test_the_admin_sets_a_keys_scopes_one_per_line(admin_client, api_key):
    response = admin_client.post(
        f"/admin/usage/apikey/{api_key.pk}/change/",
        {"name": api_key.name, "team": api_key.team_id, "provider_scopes_text": "anthropic=wrkspc_9\nopenai = proj_9"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    api_key.refresh_from_db()
    assert api_key.provider_scopes == {"anthropic": "wrkspc_9", "openai": "proj_9"}


def test_the_admin_names_a_malformed_scope_line(admin_client, api_key):
    response = admin_client.post(
        f"/admin/usage/apikey/{api_key.pk}/change/",
        {"name": api_key.name, "team": api_key.team_id, "provider_scopes_text": "wrkspc_9"},
    )

    assert response.status_code == 200
    assert "Write PROVIDER=SCOPE" in response.content.decode()
