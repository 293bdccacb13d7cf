"""Pulling Anthropic's cost and usage reports from a fake admin API over real HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.billing.models import BillingLine, ProviderReport, UsageLine
from apps.billing.services import account_sync
from apps.usage.models import DirtyMark

from .fake_admin_api import anthropic_cost, anthropic_cost_bucket, anthropic_usage

COSTS = "/v1/organizations/cost_report"
USAGE = "/v1/organizations/usage_report/messages"


@pytest.fixture
def two_day_report(fake_api):
    # Day one on the first page, day two on the second: a page boundary between buckets.
    fake_api.pages[COSTS] = [
        {"data": [anthropic_cost_bucket("2026-10-01", "2026-10-02", [anthropic_cost("wrkspc_a", "1234.5678")])]},
        {
            "data": [
                anthropic_cost_bucket(
                    "2026-10-02", "2026-10-03", [anthropic_cost("wrkspc_a", "100"), anthropic_cost(None, "0.000001")]
                )
            ]
        },
    ]
    fake_api.pages[USAGE] = [
        {
            "data": [
                anthropic_cost_bucket(
                    "2026-10-01",
                    "2026-10-02",
                    [anthropic_usage("wrkspc_a", "claude-sonnet-4", uncached=1000, read=200, write_5m=30, write_1h=70)],
                )
            ]
        }
    ]


def test_it_stores_cents_as_exact_dollars_across_a_page_boundary(anthropic_account, fake_api, two_day_report):
    account_sync(account=anthropic_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    lines = {(ln.day, ln.scope): ln.billed_cost for ln in BillingLine.objects.all()}
    assert lines == {
        (date(2026, 10, 1), "wrkspc_a"): Decimal("12.345678000"),
        (date(2026, 10, 2), "wrkspc_a"): Decimal("1.000000000"),
        (date(2026, 10, 2), ""): Decimal("0.000000010"),
    }
    assert fake_api.paths() == [COSTS, COSTS, USAGE]


def test_it_sends_the_admin_key_version_and_documented_parameters(anthropic_account, fake_api, two_day_report):
    account_sync(account=anthropic_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    _path, query, headers = fake_api.requests[0]
    assert headers["x-api-key"] == "sk-ant-admin-test"
    assert headers["anthropic-version"] == "2023-06-01"
    assert ("starting_at", "2026-10-01T00:00:00Z") in query
    assert ("ending_at", "2026-10-03T00:00:00Z") in query
    assert [v for k, v in query if k == "group_by[]"] == ["workspace_id", "description"]
    assert ("page", "page_1") in fake_api.requests[1][1]
    assert [v for k, v in fake_api.requests[2][1] if k == "group_by[]"] == ["workspace_id", "api_key_id", "model"]


def test_usage_tokens_follow_the_canonical_event(anthropic_account, two_day_report):
    account_sync(account=anthropic_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    usage = UsageLine.objects.get()
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        1300,
        200,
        100,
        70,
    )


def test_it_retries_a_rate_limit_and_keeps_the_raw_pages(anthropic_account, fake_api, two_day_report):
    fake_api.failures[COSTS] = [429]

    account_sync(account=anthropic_account, start=date(2026, 10, 1), end=date(2026, 10, 2))

    assert fake_api.paths() == [COSTS, COSTS, COSTS, USAGE]
    raw = ProviderReport.objects.get(endpoint="cost_report").pages
    assert [page["data"][0]["results"][0]["amount"] for page in raw] == ["1234.5678", "100"]
    anthropic_account.refresh_from_db()
    assert anthropic_account.last_error == ""


def test_a_repulled_day_replaces_its_lines(anthropic_account, fake_api, two_day_report):
    account_sync(account=anthropic_account, start=date(2026, 10, 1), end=date(2026, 10, 2))
    fake_api.pages[COSTS] = [
        {"data": [anthropic_cost_bucket("2026-10-02", "2026-10-03", [anthropic_cost("wrkspc_a", "250")])]}
    ]

    account_sync(account=anthropic_account, start=date(2026, 10, 2), end=date(2026, 10, 2))

    assert sorted((ln.day, ln.billed_cost) for ln in BillingLine.objects.all()) == [
        (date(2026, 10, 1), Decimal("12.345678000")),
        (date(2026, 10, 2), Decimal("2.500000000")),
    ]
    assert set(DirtyMark.objects.values_list("day", flat=True)) == {date(2026, 10, 1), date(2026, 10, 2)}
