"""Pulling Anthropic's Usage and Cost Analytics API (beta) from a fake server speaking its documented shapes.

The fake's rows are validated against the `anthropic` SDK's own types (BetaAnalyticsCostItem,
BetaAnalyticsUsageItem), so the field names the pull reads are the SDK's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from anthropic.types.beta.organization.analytics.beta_analytics_cost_item import BetaAnalyticsCostItem
from anthropic.types.beta.organization.analytics.beta_analytics_usage_item import BetaAnalyticsUsageItem
from rest_framework.test import APIClient

from apps.billing.models import PROVIDER_ONLY, BillingLine, ProviderAccount, UsageLine
from apps.billing.services import account_sync, scope_map
from apps.budgets.models import Anomaly
from apps.budgets.reconciliation import discount_check
from apps.org.models import Person
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild
from tests.factories import ModelPriceFactory, NegotiatedDiscountFactory

from .fake_admin_api import ANALYTICS_BETA, analytics_cost, analytics_usage, anthropic_cost, anthropic_cost_bucket

COST = "/v1/organizations/analytics/cost"
USAGE = "/v1/organizations/analytics/usage"
ADA = {"type": "user_actor", "user_id": "user_01", "email_address": "ada@example.com", "name": "Ada", "deleted": False}


@pytest.fixture
def report(fake_api):
    first = analytics_cost("2026-10-01", "2026-10-02", cents="1234.5678", list_cents="1500", actor=ADA)
    second = analytics_cost(
        "2026-10-01", "2026-10-02", cents="0.25", list_cents="0.25", api_key="apikey_02", tier="priority_on_demand"
    )
    usage = analytics_usage("2026-10-01", "2026-10-02", uncached=1000, read=200, write_5m=30, output=50)
    for row in (first, second):
        BetaAnalyticsCostItem.model_validate(row)
    BetaAnalyticsUsageItem.model_validate(usage)
    fake_api.pages[COST] = [{"data": [first]}, {"data": [second]}]  # a page boundary between rows
    fake_api.pages[USAGE] = [{"data": [usage]}]


def test_fractional_cents_become_exact_dollars_with_key_tier_and_person(analytics_account, fake_api, report):
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    lines = {ln.api_key_id: ln for ln in BillingLine.objects.all()}
    ada = lines["apikey_01"]
    assert (ada.scope, ada.model, ada.service_tier, ada.person) == (
        "wrkspc_a",
        "claude-sonnet-4",
        "standard",
        "ada@example.com",
    )
    assert (ada.billed_cost, ada.list_cost) == (Decimal("12.345678000"), Decimal("15.000000000"))
    assert lines["apikey_02"].billed_cost == Decimal("0.002500000")
    assert fake_api.paths() == [COST, COST, USAGE]


def test_priority_tier_spend_is_counted(analytics_account, fake_api, report):
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    priority = BillingLine.objects.get(api_key_id="apikey_02")
    assert priority.service_tier == "priority"
    day_rebuild(day=date(2026, 10, 1))
    assert DailyRollup.objects.get(model=PROVIDER_ONLY).billed_cost == Decimal("12.348178000")


def test_usage_counts_input_with_the_cache_as_events_do(analytics_account, fake_api, report):
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    usage = UsageLine.objects.get()
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.output_tokens) == (
        1230,
        200,
        30,
        50,
    )
    assert (usage.api_key_id, usage.requests) == ("apikey_01", 1)


def test_every_request_names_the_beta_the_groups_and_daily_buckets(analytics_account, fake_api, report):
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    path, query, headers = fake_api.requests[0]
    assert path == COST
    assert headers["anthropic-beta"] == ANALYTICS_BETA and headers["x-api-key"] == "sk-ant-admin-test"
    groups = [v for k, v in query if k == "group_by[]"]
    assert groups == ["workspace_id", "api_key_id", "model", "service_tier", "actor", "cost_type", "token_type"]
    assert ("time_bucket_width", "1d") in query
    assert ("starting_at", "2026-10-01T00:00:00Z") in query and ("ending_at", "2026-10-02T00:00:00Z") in query
    assert ("page", "page_1") in fake_api.requests[1][1]


def test_a_call_without_the_beta_header_is_refused_by_the_server(fake_api, report):
    response = httpx.get(f"{fake_api.url}{COST}", params={"starting_at": "2026-10-01T00:00:00Z"})

    assert response.status_code == 400
    assert ANALYTICS_BETA in response.json()["error"]["message"]


def test_a_range_longer_than_31_days_is_asked_in_windows(analytics_account, fake_api, report):
    account_sync(account=analytics_account, start=date(2026, 9, 1), end=date(2026, 10, 15))

    windows = [(dict(q)["starting_at"], dict(q)["ending_at"]) for p, q, _ in fake_api.requests if "page" not in dict(q)]
    assert windows == [
        ("2026-09-01T00:00:00Z", "2026-10-02T00:00:00Z"),
        ("2026-09-01T00:00:00Z", "2026-10-02T00:00:00Z"),
        ("2026-10-02T00:00:00Z", "2026-10-16T00:00:00Z"),
        ("2026-10-02T00:00:00Z", "2026-10-16T00:00:00Z"),
    ]


@pytest.mark.parametrize("status", [400, 403, 404])
def test_an_unavailable_api_falls_back_to_the_legacy_report_saying_so(analytics_account, fake_api, status):
    fake_api.failures[COST] = [status]
    bucket = anthropic_cost_bucket("2026-10-01", "2026-10-02", [anthropic_cost("wrkspc_a", "100")])
    fake_api.pages["/v1/organizations/cost_report"] = [{"data": [bucket]}]
    fake_api.pages["/v1/organizations/usage_report/messages"] = [{"data": []}]

    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    assert BillingLine.objects.get().billed_cost == Decimal("1.000000000")
    account = ProviderAccount.objects.get()
    assert f"HTTP {status}" in account.cost_api_note and "legacy cost report" in account.cost_api_note
    assert account.cost_api == "analytics"  # asked again next time


def test_a_new_account_defaults_to_the_analytics_api(db):
    assert ProviderAccount(provider="anthropic", name="x").cost_api == "analytics"


def test_an_api_key_mapping_attributes_its_billed_amount(analytics_account, fake_api, report, team):
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))
    scope_map(provider="anthropic", scope="apikey_02", team=team)

    day_rebuild(day=date(2026, 10, 1))

    rows = dict(DailyRollup.objects.filter(model=PROVIDER_ONLY).values_list("team_id", "billed_cost"))
    assert rows == {team.id: Decimal("0.002500000"), None: Decimal("12.345678000")}


def test_the_realised_discount_is_shown_beside_the_price_tables(analytics_account, fake_api, report, finance):
    NegotiatedDiscountFactory(model="claude-sonnet-4", percent_off=Decimal("10"))
    ModelPriceFactory(model="claude-sonnet-4")
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))
    client = APIClient()
    client.force_authenticate(finance)

    (anthropic,) = client.get("/api/v1/reconciliation?month=2026-10").json()["providers"]

    # $12.348178 billed against $15.0025 listed: 17.69% off, where the table says 10%.
    assert anthropic["discounts"] == [
        {
            "model": "claude-sonnet-4",
            "billed": "12.348178000",
            "listed": "15.002500000",
            "realised_percent": "17.69",
            "table_percent": "10.00",
            "gap": "7.69",
        }
    ]


def test_a_realised_discount_off_the_table_beyond_the_threshold_raises_an_anomaly(analytics_account, fake_api, report):
    ModelPriceFactory(model="claude-sonnet-4")
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    alerts = discount_check(since=date(2026, 10, 1), until=date(2026, 10, 1))

    anomaly = Anomaly.objects.get(subject="discount:anthropic:claude-sonnet-4")
    assert (anomaly.dimension, anomaly.day, anomaly.amount) == (
        "reconciliation",
        date(2026, 10, 1),
        Decimal("2.654322000"),
    )
    assert "17.69% discount" in anomaly.explanation and "applies 0.00%" in anomaly.explanation
    assert len(alerts) == 1


def test_a_realised_discount_within_the_threshold_raises_nothing(analytics_account, fake_api, report):
    NegotiatedDiscountFactory(model="claude-sonnet-4", percent_off=Decimal("17"))
    ModelPriceFactory(model="claude-sonnet-4")
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    assert discount_check(since=date(2026, 10, 1), until=date(2026, 10, 1)) == []


def test_the_actors_name_becomes_the_persons_display_name(analytics_account, fake_api, report):
    account_sync(account=analytics_account, start=date(2026, 10, 1), end=date(2026, 10, 1))

    assert Person.objects.get(identifier="ada@example.com").display_name == "Ada"
