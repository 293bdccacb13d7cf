"""Fixtures of the billing tests: the fake admin API, accounts pointed at it, no waiting on retries."""

from __future__ import annotations

import pytest

from apps.billing.models import ProviderAccount

from .fake_admin_api import FakeAdminApi


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.BILLING_PULL_BACKOFF_SECONDS = 0
    settings.BILLING_PULL_ATTEMPTS = 3
    settings.ROLLUP_REFRESH_ON_INGEST = False


@pytest.fixture
def fake_api():
    with FakeAdminApi() as api:
        yield api


@pytest.fixture
def anthropic_account(db, fake_api):
    """An account pulling the legacy cost report (tests/billing/test_anthropic_analytics.py: the new API)."""
    account = ProviderAccount(provider="anthropic", name="main", api_base=fake_api.url, cost_api="legacy")
    account.api_key = "sk-ant-admin-test"
    account.save()
    return account


@pytest.fixture
def analytics_account(db, fake_api):
    account = ProviderAccount(provider="anthropic", name="main", api_base=fake_api.url)
    account.api_key = "sk-ant-admin-test"
    account.save()
    return account


@pytest.fixture
def openai_account(db, fake_api):
    account = ProviderAccount(provider="openai", name="main", api_base=fake_api.url)
    account.api_key = "sk-admin-openai-test"
    account.save()
    return account
