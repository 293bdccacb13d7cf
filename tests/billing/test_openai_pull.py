"""Pulling OpenAI's costs and completions usage from a fake admin API over real HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.billing.models import BillingLine, ProviderAccount, UsageLine
from apps.billing.pulls import ProviderPullError
from apps.billing.services import account_sync

from .fake_admin_api import openai_bucket, openai_cost, openai_usage

COSTS = "/v1/organization/costs"
USAGE = "/v1/organization/usage/completions"
OCT_1 = 1790812800  # 2026-10-01T00:00:00Z


@pytest.fixture
def report(fake_api):
    fake_api.pages[COSTS] = [
        {"object": "page", "data": [openai_bucket(OCT_1, [openai_cost("proj_a", "0.123456789")])]},
        {"object": "page", "data": [openai_bucket(OCT_1 + 86400, [openai_cost("proj_b", "7.1")])]},
    ]
    fake_api.pages[USAGE] = [
        {
            "object": "page",
            "data": [
                openai_bucket(OCT_1, [openai_usage("proj_a", "gpt-4o", input_tokens=500, output_tokens=50, cached=100)])
            ],
        }
    ]


def test_it_stores_usd_amounts_exactly_with_the_bearer_key(openai_account, fake_api, report):
    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    assert sorted((ln.day, ln.scope, ln.billed_cost, ln.model) for ln in BillingLine.objects.all()) == [
        (date(2026, 10, 1), "proj_a", Decimal("0.123456789"), "gpt-4o-2024-08-06"),
        (date(2026, 10, 2), "proj_b", Decimal("7.100000000"), "gpt-4o-2024-08-06"),
    ]
    _path, query, headers = fake_api.requests[0]
    assert headers["authorization"] == "Bearer sk-admin-openai-test"
    assert ("start_time", str(OCT_1)) in query and ("end_time", str(OCT_1 + 2 * 86400)) in query
    assert [v for k, v in query if k == "group_by"] == ["project_id", "line_item"]
    assert ("bucket_width", "1d") in query
    assert [v for k, v in fake_api.requests[2][1] if k == "group_by"] == ["project_id", "api_key_id", "model", "batch"]


def test_usage_keeps_cached_tokens_inside_input(openai_account, report):
    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    usage = UsageLine.objects.get()
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens, usage.requests) == (500, 100, 50, 3)


def test_a_provider_that_keeps_failing_is_shown_on_the_account_and_old_lines_stay(openai_account, fake_api, report):
    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 2))
    fake_api.failures[COSTS] = [503, 503, 503]

    with pytest.raises(ProviderPullError, match="Gave up after 3 attempts: HTTP 503"):
        account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    account = ProviderAccount.objects.get(pk=openai_account.pk)
    assert "HTTP 503" in account.last_error and account.last_error_at is not None
    assert BillingLine.objects.count() == 2


def test_a_refused_key_is_not_retried(openai_account, fake_api, report):
    fake_api.failures[COSTS] = [401]

    with pytest.raises(ProviderPullError, match="HTTP 401"):
        account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    assert fake_api.paths() == [COSTS]


def test_a_timeout_is_retried(openai_account, fake_api, report, settings):
    settings.BILLING_PULL_TIMEOUT_SECONDS = 0.2
    fake_api.failures[USAGE] = ["stall"]

    account_sync(account=openai_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    assert fake_api.paths() == [COSTS, COSTS, USAGE, USAGE]
    assert UsageLine.objects.count() == 1


def test_a_partial_day_is_marked_and_its_over_recording_explained(openai_account, fake_api, team):
    from django.utils import timezone

    from apps.billing.models import Reconciliation
    from apps.rollups.services import day_rebuild
    from tests.factories import ApiKeyFactory, UsageEventFactory

    today = timezone.now().date()
    start = int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())
    fake_api.pages[COSTS] = [{"object": "page", "data": [openai_bucket(start, [openai_cost("proj_a", "1")])]}]
    fake_api.pages[USAGE] = [{"object": "page", "data": []}]
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(today.year, today.month, today.day, 0, 1, tzinfo=UTC),
        provider="openai",
        team=team,
        billed_cost=Decimal("2"),
    )
    account_sync(account=openai_account, start=today, end=today)

    day_rebuild(day=today)

    assert BillingLine.objects.get().is_partial
    assert Reconciliation.objects.get().cause.startswith("The provider's day was not over when pulled")
