"""Reconciliation coverage: every provider with spend has a line, billed or not yet, and finance maps
an unmapped scope from the overview, after which the provider's billed days are re-derived."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine

from apps.billing.models import PROVIDER_ONLY, BillingLine, ProviderAccount, ScopeMapping
from apps.billing.selectors import month_reconciliation, unmapped_scopes
from apps.billing.services import scope_map
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_rebuild
from tests.factories import ApiKeyFactory, UsageEventFactory

DAY = date(2026, 10, 1)
MONTH = (date(2026, 10, 1), date(2026, 10, 31))
OVERVIEW = "/overview/?month=2026-10"


def _event(team, cost: str, provider: str = "anthropic"):
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(2026, 10, 1, 9, tzinfo=UTC),
        provider=provider,
        team=team,
        billed_cost=Decimal(cost),
        list_cost=Decimal(cost),
    )


def _line(scope: str, cost: str, provider: str = "anthropic", **fields):
    return BillingLine.objects.create(
        source="api",
        provider=provider,
        day=DAY,
        scope=scope,
        billed_cost=Decimal(cost),
        effective_cost=Decimal(cost),
        **fields,
    )


def test_a_provider_with_spend_and_no_bill_has_a_line_of_its_own_with_its_last_pull(team):
    _event(team, "5.000000001", provider="openai")
    _event(team, "2", provider="anthropic")
    _line("wrkspc_a", "2")
    day_rebuild(day=DAY)

    lines = {p.provider: p for p in month_reconciliation(start=MONTH[0], end=MONTH[1])}

    assert sorted(lines) == ["anthropic", "openai"]
    assert (lines["anthropic"].has_bill, lines["anthropic"].billed) == (True, Decimal("2.000000000"))
    openai = lines["openai"]
    assert (openai.has_bill, openai.billed, openai.recorded) == (False, Decimal(0), Decimal("5.000000001"))
    assert openai.last_pulled is None
    pulled = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
    ProviderAccount.objects.create(provider="openai", name="main", last_synced_at=pulled)
    assert month_reconciliation(start=MONTH[0], end=MONTH[1])[1].last_pulled == pulled


def test_unmapped_scopes_are_listed_with_their_amounts_and_mapped_ones_are_not(team):
    _line("wrkspc_console", "1.25")
    _line("wrkspc_console", "0.000000002")
    _line("wrkspc_search", "4")
    _line("acct-9", "3", provider="aws.bedrock", tags={"team": "search"})
    scope_map(provider="anthropic", scope="wrkspc_search", team=team)
    scope_map(provider="aws.bedrock", scope="team=search", team=team)

    scopes = unmapped_scopes(start=MONTH[0], end=MONTH[1])

    assert [(u.provider, u.scope, u.billed, u.days) for u in scopes] == [
        ("anthropic", "wrkspc_console", Decimal("1.250000002"), 1)
    ]


def test_finance_maps_a_scope_from_the_overview_and_its_remainder_moves_to_the_team(
    team, as_user, finance, django_capture_on_commit_callbacks
):
    _event(team, "4")
    _line("wrkspc_search", "4")
    _line("wrkspc_console", "1.5")
    scope_map(provider="anthropic", scope="wrkspc_search", team=team)
    day_rebuild(day=DAY)
    assert DailyRollup.objects.get(model=PROVIDER_ONLY).team_id is None
    client = as_user(finance)
    page = client.get(OVERVIEW).content.decode()
    assert 'name="scope" value="wrkspc_console"' in page

    with time_machine.travel(datetime(2026, 11, 3, 9, tzinfo=UTC)), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/overview/scopes/map/",
            {"provider": "anthropic", "scope": "wrkspc_console", "team": team.slug, "month": "2026-10"},
        )

    assert response.status_code == 302
    assert response["Location"] == "/overview/?month=2026-10&mapped=wrkspc_console#invoice-reconciliation"
    assert ScopeMapping.objects.get(scope="wrkspc_console").team == team
    # The team's scopes now bill $5.50 against the $4 it recorded: the $1.50 is the team's.
    remainder = DailyRollup.objects.get(model=PROVIDER_ONLY)
    assert (remainder.team_id, remainder.billed_cost) == (team.id, Decimal("1.500000000"))
    page = client.get(response["Location"]).content.decode()
    assert "wrkspc_console is mapped" in page
    assert "Every billed scope of the month maps to a team." in page


def test_only_finance_maps_a_scope_and_a_bad_team_is_named(team, as_user, lead, finance):
    fields = {"provider": "anthropic", "scope": "wrkspc_console", "team": team.slug}

    assert as_user(lead).post("/overview/scopes/map/", fields).status_code == 403

    response = as_user(finance).post("/overview/scopes/map/", {**fields, "team": "no-such-team"})
    assert response.status_code == 400
    assert "team:" in response.content.decode()
    assert not ScopeMapping.objects.exists()


def test_the_overview_says_no_bill_yet_and_never_pulled(team, as_user, finance):
    _event(team, "3", provider="openai")
    day_rebuild(day=DAY)

    page = as_user(finance).get(OVERVIEW).content.decode()

    row = page[page.index('<tr class="no-bill">') :]
    row = row[: row.index("</tr>")]
    assert "openai" in row and "no bill yet" in row and "never pulled" in row and "$3.00" in row
