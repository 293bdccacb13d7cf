"""Keys and policies: refused calls get the provider's own errors and never reach the provider."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import openai
import pytest
from django.utils import timezone

from apps.usage.models import UsageEvent
from tests.budgets.spend import Spend, prices_create, today_start
from tests.factories import ApiKeyFactory, BudgetFactory, ProductFactory

from .conftest import anthropic_for, openai_for

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HI = [{"role": "user", "content": "Hi"}]


def spend_today(team, usd: str) -> None:
    prices_create()
    spend = Spend()
    spend.add(today_start(), usd, team=team)
    spend.flush()


def test_an_unknown_key_gets_the_sdks_authentication_error(gateway_server, provider):
    with pytest.raises(openai.AuthenticationError, match="Unknown API key"):
        openai_for(gateway_server, "nope").chat.completions.create(model="gpt-4o", messages=HI)
    with pytest.raises(anthropic.AuthenticationError, match="Unknown API key"):
        anthropic_for(gateway_server, "nope").messages.create(model="claude-test-4", max_tokens=5, messages=HI)

    assert provider.requests == []


def test_a_revoked_key_gets_the_sdks_permission_error(gateway_server, provider, team):
    key = ApiKeyFactory(team=team, revoked_at=timezone.now())

    with pytest.raises(openai.PermissionDeniedError, match="revoked"):
        openai_for(gateway_server, key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
    with pytest.raises(anthropic.PermissionDeniedError, match="revoked"):
        anthropic_for(gateway_server, key.raw_key).messages.create(model="claude-test-4", max_tokens=5, messages=HI)
    assert provider.requests == []


def test_a_production_call_without_its_required_tags_is_refused_before_spend(gateway_server, provider, production_key):
    gateway_server.refresh()
    with pytest.raises(openai.BadRequestError, match="Missing required tags for environment production: product"):
        openai_for(gateway_server, production_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
    with pytest.raises(anthropic.BadRequestError, match="production: product"):
        anthropic_for(gateway_server, production_key.raw_key).messages.create(
            model="claude-test-4", max_tokens=5, messages=HI
        )

    assert provider.requests == []
    assert not UsageEvent.objects.exists()


def test_tags_come_from_the_key_the_headers_and_the_body(gateway_server, provider, production_key, team, prices):
    ProductFactory(slug="assistant", team=team)
    gateway_server.refresh()
    openai_for(gateway_server, production_key.raw_key).chat.completions.create(
        model="gpt-4o",
        messages=HI,
        user="customer-42",
        extra_headers={"X-Attribution-Product": "Assistant", "X-Attribution-Feature": "Summaries"},
    )
    anthropic_for(gateway_server, production_key.raw_key).messages.create(
        model="claude-test-4",
        max_tokens=5,
        messages=HI,
        metadata={"user_id": "Customer-7"},
        extra_headers={"X-Attribution-Product": "assistant", "X-Attribution-Agent": "triage"},
    )

    message, chat = UsageEvent.objects.order_by("provider")
    assert (chat.team.slug, chat.environment.slug, chat.product.slug) == ("search", "production", "assistant")
    assert (chat.feature, chat.customer, chat.missing_tags) == ("summaries", "customer-42", "")
    assert (message.product.slug, message.agent, message.customer) == ("assistant", "triage", "Customer-7")


def test_a_warned_call_passes_and_its_event_is_flagged(gateway_server, provider, production_key, settings):
    settings.GATEWAY_TAG_POLICY = "warn"
    gateway_server.refresh()

    openai_for(gateway_server, production_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    event = UsageEvent.objects.get()
    assert event.attributes["gateway_warning_missing_tags"] == "product"
    assert event.missing_tags == "product"


def test_a_spent_hard_limit_budget_refuses_the_teams_calls_with_429(gateway_server, provider, api_key, team):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), hard_limit=True)
    spend_today(team, "100.000001")
    gateway_server.refresh()

    with pytest.raises(openai.RateLimitError, match=r"budget of Search \(hard limit\) is spent: \$100.00 of \$100.00"):
        openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)
    with pytest.raises(anthropic.RateLimitError, match="hard limit"):
        anthropic_for(gateway_server, api_key.raw_key).messages.create(model="claude-test-4", max_tokens=5, messages=HI)
    assert provider.requests == []


def test_a_spent_budget_without_hard_limit_refuses_nothing(gateway_server, provider, api_key, team):
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), hard_limit=False)
    spend_today(team, "150")
    gateway_server.refresh()

    openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    assert len(provider.requests) == 1


def test_a_hard_limit_in_warn_mode_passes_and_flags_the_event(gateway_server, provider, api_key, team, settings):
    settings.GATEWAY_BUDGET_POLICY = "warn"
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"), hard_limit=True)
    spend_today(team, "100")
    gateway_server.refresh()

    openai_for(gateway_server, api_key.raw_key).chat.completions.create(model="gpt-4o", messages=HI)

    assert "hard limit" in UsageEvent.objects.get(source="gateway").attributes["gateway_warning_budget"]


def test_an_overlong_tag_header_is_refused_naming_the_header(gateway_server, provider, api_key):
    with pytest.raises(openai.BadRequestError, match="X-Attribution-Customer must be at most 128 characters"):
        openai_for(gateway_server, api_key.raw_key).chat.completions.create(
            model="gpt-4o", messages=HI, extra_headers={"X-Attribution-Customer": "c" * 129}
        )
    assert provider.requests == []


def test_an_unrecorded_path_passes_through_without_an_event(gateway_server, provider, api_key):
    models = openai_for(gateway_server, api_key.raw_key).models.list()

    assert [m.id for m in models] == ["gpt-4o"]
    assert provider.requests[0]["path"] == "/v1/models"
    assert not UsageEvent.objects.exists()
