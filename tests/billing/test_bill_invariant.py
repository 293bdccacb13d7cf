"""Per provider and day with a bill, every total equals the bill, compared per provider scope.

Two teams whose keys bill to two Anthropic workspaces, one mapped: the mapped workspace's bill has
spend no event recorded (a surplus), the other's is below what its team recorded (an
over-recording). The costs API, the FOCUS export and the reconciliation all come to the bill.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.allocation.services import day_refresh
from apps.billing.models import NOT_BILLED, PROVIDER_ONLY, BillingLine
from apps.billing.services import scope_map
from apps.rollups.models import DailyRollup
from apps.usage.services import api_key_create
from tests.factories import ModelPriceFactory

DAY = date(2026, 10, 1)
BILL = {"wrkspc_search": Decimal("6.40"), "wrkspc_billing": Decimal("4.00")}


def _post(raw_key: str, events: list[dict]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = client.post("/api/v1/events", {"events": events}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == len(events), response.content


def _call(event_id: str, *, input_tokens: int, output_tokens: int = 0, provider: str = "anthropic") -> dict:
    return {
        "event_id": event_id,
        "timestamp": "2026-10-01T09:00:00Z",
        "provider": provider,
        "model": "claude-sonnet-4" if provider == "anthropic" else "gpt-4.1",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }


@pytest.fixture
def billed_day(team, other_team, settings):
    settings.ROLLUP_REFRESH_ON_INGEST = False
    ModelPriceFactory(model="claude-sonnet-4")  # $3 in, $15 out per million
    ModelPriceFactory(provider="openai", model="gpt-4.1")
    keys = {}
    for owner in (team, other_team):
        _, keys[owner.slug] = api_key_create(
            team=owner,
            name=owner.slug,
            pinned_tags={"team": owner.slug},
            provider_scopes={"anthropic": f"wrkspc_{owner.slug}"},
        )
    search_key, billing_key = keys["search"], keys["billing"]
    with time_machine.travel("2026-10-03T12:00:00Z", tick=False):
        # search records $6.00 on its workspace, billed $6.40: $0.40 nobody reported.
        _post(search_key, [_call("s1", input_tokens=1_000_000), _call("s2", input_tokens=1_000_000)])
        # billing records $4.50 on its workspace, billed $4.00: $0.50 recorded, not billed.
        _post(billing_key, [_call("b1", input_tokens=1_000_000, output_tokens=100_000)])
        # OpenAI sent no bill: its $3.00 stands as recorded.
        _post(billing_key, [_call("o1", input_tokens=1_000_000, provider="openai")])
        for scope, amount in BILL.items():
            BillingLine.objects.create(
                source="api", provider="anthropic", day=DAY, scope=scope, billed_cost=amount, effective_cost=amount
            )
        scope_map(provider="anthropic", scope="wrkspc_search", team=team)
        day_refresh(day=DAY)


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_costs_api_total_per_provider_equals_the_bill(finance, billed_day):
    body = _client(finance).get("/api/v1/costs", {"start": "2026-10-01", "end": "2026-10-01", "group_by": "provider"})

    assert body.status_code == 200
    totals = {row["provider"]: Decimal(row["total"]) for row in body.json()["rows"]}
    assert totals == {"anthropic": sum(BILL.values()), "openai": Decimal("3.000000000")}


def test_the_focus_export_sums_to_the_bill(finance, billed_day):
    response = _client(finance).get("/api/v1/focus.csv?month=2026-10")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    anthropic = [r for r in rows if r["SkuId"].startswith("anthropic/")]
    assert sum(Decimal(r["BilledCost"]) for r in anthropic) == Decimal("10.400000000")
    negative = [r for r in anthropic if r["x_ReportedBy"] == "events, not billed"]
    assert [(r["SubAccountId"], r["BilledCost"]) for r in negative] == [("billing", "-0.500000000")]


def test_the_surplus_is_on_the_mapped_team(team, billed_day):
    row = DailyRollup.objects.get(model=PROVIDER_ONLY)

    assert (row.team_id, row.provider, row.billed_cost) == (team.id, "anthropic", Decimal("0.400000000"))


def test_the_over_recording_is_a_negative_line_on_the_team_that_recorded_it(other_team, finance, billed_day):
    row = DailyRollup.objects.get(model=NOT_BILLED)
    assert (row.team_id, row.billed_cost) == (other_team.id, Decimal("-0.500000000"))

    body = _client(finance).get("/api/v1/reconciliation?month=2026-10").json()
    anthropic, openai = body["providers"]
    # OpenAI has spend and no bill: a line of its own, standing as recorded.
    assert (openai["provider"], openai["has_bill"], openai["recorded"]) == ("openai", False, "3.000000000")
    assert (anthropic["billed"], anthropic["attributed_total"], anthropic["balances"]) == (
        "10.400000000",
        "10.400000000",
        True,
    )
    assert anthropic["not_billed_by_team"] == {"billing": "0.500000000"}
    over = next(d for d in anthropic["days"] if d["not_billed"] != "0.000000000")
    assert (over["team"], over["scopes"], over["basis"]) == ("billing", "wrkspc_billing", "scope")
    assert over["cause"].startswith("No usage report")


def test_the_team_pages_show_the_billed_totals(client, lead, billed_day):
    client.force_login(lead)

    page = client.get("/teams/search/?month=2026-10").content.decode()

    assert PROVIDER_ONLY in page and "$6.40" in page
