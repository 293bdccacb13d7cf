"""Spend per person: the team page's Coding agents section and the overview's top spenders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.billing.models import BillingLine
from apps.org.models import Person
from apps.rollups.services import day_rebuild
from apps.showback.selectors.people import team_coding_agents
from attribution_site.periods import MonthPeriod
from tests.factories import ApiKeyFactory, UsageEventFactory, UserFactory

PERIOD = MonthPeriod(month_start=date(2026, 10, 1), today=date(2026, 10, 31))


def _spend(team, person: str, day: int, cost: str, model: str = "claude-sonnet-4", month: int = 10):
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(2026, month, day, 9, tzinfo=UTC),
        team=team,
        person=person,
        model=model,
        billed_cost=Decimal(cost),
        list_cost=Decimal(cost),
    )


@pytest.fixture
def people(team, other_team, lead, member):
    member.email = "Member@Example.com"
    member.save()
    _spend(team, "member@example.com", 1, "3")
    _spend(team, "member@example.com", 2, "1", model="claude-opus-4")
    _spend(other_team, "member@example.com", 2, "2")  # charged to billing: still the member's spend
    _spend(team, "dana@example.com", 5, "10")
    _spend(other_team, "li@example.com", 5, "4")
    _spend(team, "member@example.com", 1, "2", month=9)  # last month's same days
    call_command("map_person", "dana@example.com", "--team", "search", "--name", "Dana Scully", stdout=StringIO())
    for day in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5)):
        day_rebuild(day=day)


def test_a_lead_sees_every_person_of_the_team_with_their_spend(team, lead, people):
    rows = team_coding_agents(team=team, period=PERIOD, user=lead)

    assert [(p.name, p.spend, p.active_days) for p in rows] == [
        ("Dana Scully", Decimal("10.000000000"), 1),
        ("member@example.com", Decimal("6.000000000"), 2),
    ]
    member_row = rows[1]
    assert member_row.cost_per_active_day == Decimal("3.000000000")
    assert (member_row.previous, member_row.change_percent) == (Decimal("2.000000000"), Decimal("200"))
    assert member_row.mix == [("claude-sonnet-4", Decimal("83")), ("claude-opus-4", Decimal("17"))]


def test_a_member_sees_only_their_own_line(team, member, people):
    rows = team_coding_agents(team=team, period=PERIOD, user=member)

    assert [p.identifier for p in rows] == ["member@example.com"]


def test_a_person_mapped_to_another_team_leaves_this_one(team, other_team, lead, people):
    call_command("map_person", "member@example.com", "--team", "billing", stdout=StringIO())

    assert [p.name for p in team_coding_agents(team=team, period=PERIOD, user=lead)] == ["Dana Scully"]
    assert Person.objects.get(identifier="member@example.com").team == other_team


def test_map_person_names_an_unknown_team(db):
    with pytest.raises(CommandError, match="No team with slug 'nope'"):
        call_command("map_person", "x@example.com", "--team", "nope", stdout=StringIO())


def test_the_team_page_shows_the_coding_agents_section(client, lead, people):
    client.force_login(lead)

    with time_machine.travel("2026-10-31T12:00:00Z"):
        page = client.get("/teams/search/?month=2026-10").content.decode()

    assert 'id="coding-agents"' in page and "Dana Scully" in page and "$10.00" in page


def test_finance_sees_the_organisations_top_spenders(client, finance, people):
    outsider = UserFactory(username="li", email="li@example.com", first_name="Li", last_name="Wei")
    client.force_login(finance)

    with time_machine.travel("2026-10-31T12:00:00Z"):
        page = client.get("/overview/?month=2026-10").content.decode()

    section = page[page.index('id="top-spenders"') :]
    assert section.index("Dana Scully") < section.index("member@example.com") < section.index(outsider.get_full_name())


def test_what_the_provider_billed_a_person_is_shown_beside_their_events(team, lead, people):
    for cents in ("2.5", "1"):
        BillingLine.objects.create(
            source="api",
            provider="anthropic",
            day=date(2026, 10, 3),
            scope="wrkspc_a",
            person="Dana@example.com",
            billed_cost=Decimal(cents),
            effective_cost=Decimal(cents),
        )

    dana = team_coding_agents(team=team, period=PERIOD, user=lead)[0]

    assert (dana.name, dana.spend, dana.provider_billed) == (
        "Dana Scully",
        Decimal("10.000000000"),
        Decimal("3.500000000"),
    )
