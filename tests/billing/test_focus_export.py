"""FOCUS 1.2 export: every mandatory column typed, allocations with their basis, BilledCost = costs API."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.allocation.models import SharedCostRule
from apps.allocation.selectors import costs_report
from apps.allocation.services import day_refresh
from apps.billing.models import PROVIDER_ONLY, BillingLine
from apps.showback.focus import COLUMNS
from tests.factories import ApiKeyFactory, SharedCostRuleFactory, TeamFactory, UsageEventFactory

URL = "/api/v1/focus.csv?month=2026-10"
MANDATORY = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "InvoiceIssuerName",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "PricingQuantity",
    "PricingUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "SkuId",
    "Tags",
]


@pytest.fixture
def month(team, other_team):
    platform = TeamFactory(slug="platform", name="Platform", is_shared=True)
    for t, cost, day in ((team, "3.000000001", 1), (other_team, "1", 1), (platform, "2", 1), (None, "0.5", 2)):
        UsageEventFactory(
            api_key=ApiKeyFactory(team=t or team),
            timestamp=datetime(2026, 10, day, 9, tzinfo=UTC),
            team=t,
            billed_cost=Decimal(cost),
            list_cost=Decimal(cost) * 2,
            input_tokens=1000,
            output_tokens=10,
        )
    BillingLine.objects.create(
        source="api",
        provider="anthropic",
        day=date(2026, 10, 2),
        scope="w",
        billed_cost=Decimal("1.25"),
        effective_cost=Decimal("1.25"),
    )
    start = date(2026, 10, 1)
    SharedCostRuleFactory(name="Platform by spend", source_team=platform, effective_from=start)
    SharedCostRuleFactory(
        name="Fixed tooling",
        source=SharedCostRule.Source.FIXED,
        source_team=None,
        monthly_amount=Decimal("31"),
        method=SharedCostRule.Method.EVEN,
        effective_from=start,
        effective_until=date(2026, 10, 2),
    )
    SharedCostRuleFactory(
        name="Unattributed by spend", source=SharedCostRule.Source.UNATTRIBUTED, source_team=None, effective_from=start
    )
    day_refresh(day=start)
    day_refresh(day=date(2026, 10, 2))


def _export(user) -> list[dict]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_billed_cost_sums_to_the_costs_api_total_exactly(finance, month):
    rows = _export(finance)

    total = costs_report(start=date(2026, 10, 1), end=date(2026, 10, 31), group_by=[], filters={}, team_ids=None)
    assert sum(Decimal(r["BilledCost"]) for r in rows) == total.total.total
    # Events 6.500000001 + provider-only 0.75 (day 2: billed 1.25, recorded 0.5) + fixed $1 a day for 2 days.
    assert total.total.total == Decimal("9.250000001")


def test_every_mandatory_column_is_present_and_typed(finance, month):
    rows = _export(finance)

    assert set(MANDATORY) <= set(rows[0]) and list(rows[0]) == list(COLUMNS)
    usage = next(r for r in rows if r["Tags"] and json.loads(r["Tags"])["team"] == "search")
    assert usage["ChargePeriodStart"] == "2026-10-01T00:00:00Z" and usage["ChargePeriodEnd"] == "2026-10-02T00:00:00Z"
    assert (usage["BillingPeriodStart"], usage["BillingPeriodEnd"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    assert (usage["BilledCost"], usage["ListCost"], usage["BillingCurrency"]) == ("3.000000001", "6.000000002", "USD")
    assert (usage["ChargeCategory"], usage["ServiceCategory"]) == ("Usage", "AI and Machine Learning")
    assert (usage["PricingQuantity"], usage["PricingUnit"], usage["ProviderName"]) == ("1010", "Tokens", "Anthropic")
    assert json.loads(usage["Tags"]) == {"team": "search", "product": "", "feature": "", "environment": ""}


def test_provider_only_spend_is_its_own_row(finance, month):
    rows = [r for r in _export(finance) if r["x_ReportedBy"] == "provider only"]

    assert [(r["SkuId"], r["BilledCost"], r["PricingQuantity"]) for r in rows] == [
        (f"anthropic/{PROVIDER_ONLY}", "0.750000000", "")
    ]


def test_allocations_carry_their_rule_and_basis(finance, month):
    rows = [r for r in _export(finance) if r["x_AllocationRule"] == "Platform by spend"]

    into_search = next(r for r in rows if r["SubAccountId"] == "search" and Decimal(r["BilledCost"]) > 0)
    assert into_search["ChargeCategory"] == "Adjustment"
    assert (into_search["x_AllocationBasis"], into_search["x_AllocationBasisTotal"]) == ("3.000000001", "4.000000001")
    out_of_platform = [r for r in rows if r["SubAccountId"] == "platform"]
    assert sum(Decimal(r["BilledCost"]) for r in out_of_platform) == Decimal("-2")


@pytest.mark.parametrize(("who", "status"), [("lead", 403), ("member", 403), ("outsider", 403), ("admin_user", 200)])
def test_only_finance_and_staff_export(request, month, who, status):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(who))

    assert client.get(URL).status_code == status


def test_the_command_writes_the_same_rows(finance, month, tmp_path):
    path = tmp_path / "focus.csv"

    call_command("export_focus", "--month", "2026-10", "--output", str(path))

    with path.open() as f:
        assert list(csv.DictReader(f)) == _export(finance)


def test_the_command_refuses_a_malformed_month(db):
    with pytest.raises(CommandError, match="--month: '2026-1' is not a month"):
        call_command("export_focus", "--month", "2026-1")


def test_an_api_key_is_refused_and_anonymous_callers_must_sign_in(key_client, anon_client):
    assert key_client.get(URL).status_code == 403
    assert anon_client.get(URL).status_code == 401


def test_a_malformed_month_is_named(finance):
    client = APIClient()
    client.force_authenticate(finance)

    response = client.get("/api/v1/focus.csv?month=October")

    assert response.status_code == 400
    assert response.json() == {"month": ["Use YYYY-MM."]}


def test_a_formula_from_a_client_is_neutralised_and_negative_amounts_stay_numbers(finance, month, team):
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(2026, 10, 1, 10, tzinfo=UTC),
        team=team,
        model='=HYPERLINK("https://evil.example","x")',
        feature="+cmd",
        billed_cost=Decimal("1"),
    )
    day_refresh(day=date(2026, 10, 1))

    rows = _export(finance)

    planted = next(r for r in rows if "HYPERLINK" in r["SkuId"])
    assert planted["ChargeDescription"].startswith("'=HYPERLINK(")
    assert planted["SkuId"] == 'anthropic/=HYPERLINK("https://evil.example","x")'  # not a formula as it is
    assert not any(cell[:1] in ("=", "+", "@") for row in rows for cell in row.values())
    moved_out = [r for r in rows if r["ChargeDescription"].startswith("Allocated out")]
    assert moved_out and all(r["BilledCost"].startswith("-") for r in moved_out)
