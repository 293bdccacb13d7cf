"""A key charges only what it may: its pinned team's products, or the teams listed on it, with
the provider credential of the team charged (or the organisation's), never another team's."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest

from apps.gateway.services import provider_credential_set
from apps.usage.models import UsageEvent
from tests.budgets.spend import Spend, prices_create, today_start
from tests.factories import ApiKeyFactory, BudgetFactory, ProductFactory

from .conftest import openai_for

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def products(team, other_team):
    """search-app of the search team, billing-app of the billing team (with a hard budget of $1)."""
    ProductFactory(slug="search-app", team=team)
    billing_app = ProductFactory(slug="billing-app", team=other_team)
    BudgetFactory(product=billing_app, monthly_amount=Decimal("1.00"), hard_limit=True)


@pytest.fixture
def credentials(team, other_team):
    provider_credential_set(provider="openai", team=team, raw_key="sk-search-team-1111")
    provider_credential_set(provider="openai", team=other_team, raw_key="sk-billing-team-2222")


def _sent_key(provider) -> str:
    return {k.lower(): v for k, v in provider.requests[-1]["headers"].items()}["authorization"]


def test_a_pinned_key_naming_another_teams_product_is_refused_naming_the_product(
    gateway_server, provider, api_key, products
):
    gateway_server.refresh()
    client = openai_for(gateway_server, api_key.raw_key)

    with pytest.raises(openai.PermissionDeniedError, match="Product 'billing-app' belongs to team 'billing'"):
        client.chat.completions.create(
            model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Product": "billing-app"}
        )
    assert provider.requests == []
    assert not UsageEvent.objects.exists()


def test_a_pinned_key_may_name_its_own_teams_product(gateway_server, provider, api_key, products, prices):
    gateway_server.refresh()
    openai_for(gateway_server, api_key.raw_key).chat.completions.create(
        model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Product": "search-app"}
    )

    assert UsageEvent.objects.get().product.slug == "search-app"


def test_an_unpinned_key_charging_another_team_is_refused(gateway_server, provider, team, credentials):
    key = ApiKeyFactory(team=team, default_tags={"environment": "staging"})
    gateway_server.refresh()

    with pytest.raises(openai.PermissionDeniedError, match="may not charge team 'billing' \\(it may charge: search\\)"):
        openai_for(gateway_server, key.raw_key).chat.completions.create(
            model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Team": "billing"}
        )
    assert provider.requests == []


def test_an_unpinned_key_naming_an_unregistered_team_is_held_to_its_own_teams_budget(
    gateway_server, provider, team, credentials
):
    key = ApiKeyFactory(team=team, default_tags={"environment": "staging"})
    BudgetFactory(team=team, monthly_amount=Decimal("1.00"), hard_limit=True)
    gateway_server.refresh()
    client = openai_for(gateway_server, key.raw_key)

    client.chat.completions.create(model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Team": "Nobody"})
    assert _sent_key(provider) == "Bearer sk-search-team-1111"
    assert UsageEvent.objects.get(source="gateway").team_tag == "nobody"
    prices_create()
    spend = Spend()
    spend.add(today_start(), "1.00", team=team)
    spend.flush()
    gateway_server.refresh()

    with pytest.raises(openai.RateLimitError, match="Search \\(hard limit\\) is spent"):
        client.chat.completions.create(model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Team": "Nobody"})
    assert len(provider.requests) == 1


def test_a_team_listed_on_the_key_is_charged_with_that_teams_credential(
    gateway_server, provider, team, other_team, credentials, prices
):
    key = ApiKeyFactory(team=team, default_tags={"environment": "staging"})
    key.chargeable_teams.add(other_team)
    gateway_server.refresh()
    client = openai_for(gateway_server, key.raw_key)

    client.chat.completions.create(model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Team": "billing"})
    assert _sent_key(provider) == "Bearer sk-billing-team-2222"
    client.chat.completions.create(model="gpt-4o", messages=HI)
    assert _sent_key(provider) == "Bearer sk-search-team-1111"

    assert [e.team_tag for e in UsageEvent.objects.order_by("id")] == ["billing", ""]


def test_a_product_of_a_listed_team_charges_that_team_and_uses_its_credential(
    gateway_server, provider, team, other_team, products, credentials, prices
):
    key = ApiKeyFactory(team=team, default_tags={"environment": "staging"})
    key.chargeable_teams.add(other_team)
    gateway_server.refresh()

    openai_for(gateway_server, key.raw_key).chat.completions.create(
        model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Product": "billing-app"}
    )

    assert _sent_key(provider) == "Bearer sk-billing-team-2222"
    assert UsageEvent.objects.get().product.slug == "billing-app"


def test_a_listed_team_may_not_be_charged_for_another_teams_product(
    gateway_server, provider, team, other_team, products
):
    key = ApiKeyFactory(team=team, default_tags={"environment": "staging"})
    key.chargeable_teams.add(other_team)
    gateway_server.refresh()

    with pytest.raises(openai.PermissionDeniedError, match="Product 'search-app' belongs to team 'search'"):
        openai_for(gateway_server, key.raw_key).chat.completions.create(
            model="gpt-4o",
            messages=HI,
            extra_headers={"X-Attribution-Team": "billing", "X-Attribution-Product": "search-app"},
        )
    assert provider.requests == []


def test_a_team_without_a_credential_gets_the_organisations_never_another_teams(
    gateway_server, provider, team, other_team
):
    provider_credential_set(provider="openai", team=other_team, raw_key="sk-billing-team-2222")
    provider_credential_set(provider="openai", team=None, raw_key="sk-organisation-3333")
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})
    gateway_server.refresh()

    openai_for(gateway_server, key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    assert _sent_key(provider) == "Bearer sk-organisation-3333"
