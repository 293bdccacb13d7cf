"""GET /api/v1/reconciliation and the overview's Invoice reconciliation section: finance and staff only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.billing.models import NOT_BILLED, PROVIDER_ONLY, BillingLine, ReconciliationSettings
from apps.billing.services import scope_map
from apps.rollups.services import day_rebuild
from tests.factories import ApiKeyFactory, UsageEventFactory

URL = "/api/v1/reconciliation?month=2026-10"


@pytest.fixture
def reconciled_month(team, other_team):
    """docs/reconciliation.md's worked example: search's workspace is mapped, billing's is not."""
    events = ((1, team, "wrkspc_search", "10"), (1, other_team, "wrkspc_billing", "5"))
    events += ((2, team, "wrkspc_search", "20"), (2, other_team, "wrkspc_billing", "3"))
    for day, owner, scope, cost in events:
        UsageEventFactory(
            api_key=ApiKeyFactory(team=owner, provider_scopes={"anthropic": scope}),
            timestamp=datetime(2026, 10, day, 9, tzinfo=UTC),
            team=owner,
            provider_scope=scope,
            billed_cost=Decimal(cost),
            list_cost=Decimal(cost),
        )
    bill = ((1, "wrkspc_search", "10.1"), (1, "wrkspc_billing", "5.05"))
    bill += ((2, "wrkspc_search", "19"), (2, "wrkspc_billing", "3"))
    for day, scope, cost in bill:
        BillingLine.objects.create(
            source="api",
            provider="anthropic",
            day=date(2026, 10, day),
            scope=scope,
            billed_cost=Decimal(cost),
            effective_cost=Decimal(cost),
        )
    scope_map(provider="anthropic", scope="wrkspc_search", team=team)
    day_rebuild(day=date(2026, 10, 1))
    day_rebuild(day=date(2026, 10, 2))


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(("who", "status"), [("lead", 403), ("member", 403), ("outsider", 403), ("finance", 200)])
def test_only_finance_and_staff_read_the_reconciliation(request, reconciled_month, who, status):
    assert _client(request.getfixturevalue(who)).get(URL).status_code == status


def test_an_api_key_is_refused_and_anonymous_callers_must_sign_in(reconciled_month, key_client, anon_client):
    assert key_client.get(URL).status_code == 403
    assert anon_client.get(URL).status_code == 401


def test_a_malformed_month_is_named(admin_user):
    response = _client(admin_user).get("/api/v1/reconciliation?month=2026-13")

    assert response.status_code == 400
    assert response.json() == {"month": ["Use YYYY-MM."]}


def test_it_gives_billed_recorded_difference_and_the_remainders_team(admin_user, reconciled_month):
    body = _client(admin_user).get(URL).json()

    (anthropic,) = body["providers"]
    assert (anthropic["billed"], anthropic["recorded"], anthropic["difference"]) == (
        "37.150000000",
        "38.000000000",
        "-0.850000000",
    )
    assert (anthropic["remainder"], anthropic["over_recorded"], anthropic["not_billed"]) == (
        "0.150000000",
        "1.000000000",
        "1.000000000",
    )
    assert anthropic["remainder_by_team"] == {"search": "0.100000000", "unattributed": "0.050000000"}
    assert anthropic["not_billed_by_team"] == {"search": "1.000000000"}
    assert (anthropic["attributed_total"], anthropic["balances"]) == ("37.150000000", True)
    over = [d for d in anthropic["days"] if d["over_recorded"] != "0.000000000"]
    assert [(d["day"], d["team"], d["scopes"], d["exceeds_threshold"]) for d in over] == [
        ("2026-10-02", "search", "wrkspc_search", True)
    ]
    assert over[0]["cause"].startswith("No usage report")


def test_the_threshold_is_an_admin_setting(admin_user, reconciled_month):
    # Day one: search is $0.10 short of $15.15 (0.66%), the unmapped workspace $0.05 (0.33%).
    ReconciliationSettings.objects.create(threshold_percent=Decimal("0.5"))

    days = _client(admin_user).get(URL).json()["providers"][0]["days"]

    assert [(d["day"], d["team"], d["exceeds_threshold"]) for d in days] == [
        ("2026-10-01", None, False),
        ("2026-10-01", "search", True),
        ("2026-10-02", None, False),
        ("2026-10-02", "search", True),
    ]


def test_the_costs_total_equals_the_bill(admin_user, reconciled_month):
    body = _client(admin_user).get("/api/v1/costs", {"start": "2026-10-01", "end": "2026-10-31"}).json()

    assert body["total"]["total"] == "37.150000000"


def test_the_overview_shows_the_invoice_reconciliation(client, finance, reconciled_month):
    client.force_login(finance)

    page = client.get("/overview/?month=2026-10").content.decode()

    assert 'id="invoice-reconciliation"' in page
    assert "$37.15" in page and "equals the bill" in page and "-$1.00" in page


def test_the_team_page_shows_provider_only_spend_as_its_own_line(client, lead, reconciled_month):
    client.force_login(lead)

    page = client.get("/teams/search/?month=2026-10").content.decode()

    assert PROVIDER_ONLY in page and NOT_BILLED in page
