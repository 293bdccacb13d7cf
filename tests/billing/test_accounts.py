"""Provider accounts: the admin key encrypted at rest, accounts from the environment, the sync command."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from apps.billing.models import BillingLine, ProviderAccount

from .fake_admin_api import FakeAdminApi, anthropic_cost, anthropic_cost_bucket

COSTS = "/v1/organizations/cost_report"
USAGE = "/v1/organizations/usage_report/messages"


def test_the_admin_key_is_stored_encrypted(anthropic_account):
    stored = ProviderAccount.objects.values_list("api_key_encrypted", flat=True).get()

    assert "sk-ant-admin-test" not in stored
    assert ProviderAccount.objects.get().api_key == "sk-ant-admin-test"


def test_the_environment_defines_a_default_account_the_command_pulls(db, settings, fake_api):
    settings.BILLING_ENV_ACCOUNTS = {"anthropic": ("sk-ant-env", fake_api.url), "openai": ("", "")}
    fake_api.pages[COSTS] = [
        {"data": [anthropic_cost_bucket("2026-10-01", "2026-10-02", [anthropic_cost("wrkspc_a", "50")])]}
    ]
    fake_api.pages[USAGE] = [{"data": []}]

    call_command("sync_provider_costs", "--provider", "anthropic", "--since", "2026-10-01", "--until", "2026-10-01")

    assert BillingLine.objects.get().billed_cost == Decimal("0.500000000")
    assert ProviderAccount.objects.get().name == "default"
    assert fake_api.requests[0][2]["x-api-key"] == "sk-ant-env"


def test_the_command_fails_naming_the_provider_error(anthropic_account, fake_api):
    fake_api.failures[COSTS] = [500, 500, 500]

    with pytest.raises(CommandError, match="Gave up after 3 attempts: HTTP 500"):
        call_command("sync_provider_costs", "--provider", "anthropic", "--since", "2026-10-01", "--until", "2026-10-01")


def test_the_command_refuses_a_malformed_date(db):
    with pytest.raises(CommandError, match="'2026-13-01' is not a date"):
        call_command("sync_provider_costs", "--provider", "openai", "--since", "2026-13-01")


def test_the_daily_task_pulls_every_active_account(anthropic_account, fake_api, settings):
    from apps.billing.tasks import sync_provider_costs

    fake_api.pages[COSTS] = [{"data": []}]
    fake_api.pages[USAGE] = [{"data": []}]

    assert sync_provider_costs() == 1
    assert ("bucket_width", "1d") in fake_api.requests[0][1]
    assert "sync-provider-costs" in settings.CELERY_BEAT_SCHEDULE


def test_a_malformed_credentials_key_stops_the_settings_loading():
    from tests.attribution_site.test_settings import _settings_process

    result = _settings_process("", BILLING_CREDENTIALS_KEY="not-a-key")

    assert result.returncode != 0
    assert "BILLING_CREDENTIALS_KEY must be a Fernet key" in result.stderr


def test_without_a_credentials_key_storing_an_admin_key_is_refused(db, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.BILLING_CREDENTIALS_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="Set BILLING_CREDENTIALS_KEY"):
        ProviderAccount(provider="openai", name="x").api_key = "sk-admin"


def test_a_base_changed_outside_the_admin_never_receives_the_key(anthropic_account, fake_api):
    from datetime import date

    from apps.billing.services import ProviderPullError, account_sync

    with FakeAdminApi() as elsewhere:
        ProviderAccount.objects.filter(pk=anthropic_account.pk).update(api_base=elsewhere.url)
        account = ProviderAccount.objects.get()

        with pytest.raises(ProviderPullError, match=f"No admin key for {elsewhere.url}: enter it in the admin"):
            account_sync(account=account, start=date(2026, 10, 1), end=date(2026, 10, 1))

        assert elsewhere.requests == [] and fake_api.requests == []
    assert "No admin key" in ProviderAccount.objects.get().last_error
