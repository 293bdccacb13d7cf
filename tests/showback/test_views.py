"""Team page, overview and statement: who may see them, and that their numbers agree."""

from __future__ import annotations

import csv
import html
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.allocation.models import AllocationResult, SharedCostRule
from apps.allocation.services import day_allocate, day_refresh
from apps.usage.keys import api_key_lookup
from apps.usage.services import events_ingest
from tests.factories import ApiKeyFactory

from .conftest import page_event

pytestmark = pytest.mark.django_db

TEAM_PAGE = "/teams/search/"
STATEMENT = "/teams/search/statement.csv"
OVERVIEW = "/overview/"


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("lead", TEAM_PAGE, 200),
        ("member", TEAM_PAGE, 200),
        ("outsider", TEAM_PAGE, 403),
        ("finance", TEAM_PAGE, 200),
        ("admin_user", TEAM_PAGE, 200),
        ("lead", STATEMENT, 200),
        ("member", STATEMENT, 200),
        ("outsider", STATEMENT, 403),
        ("finance", STATEMENT, 200),
        ("admin_user", STATEMENT, 200),
        ("lead", OVERVIEW, 403),
        ("member", OVERVIEW, 403),
        ("outsider", OVERVIEW, 403),
        ("finance", OVERVIEW, 200),
        ("admin_user", OVERVIEW, 200),
        ("lead", "/teams/billing/", 403),
        ("member", "/teams/billing/statement.csv", 403),
    ],
)
def test_the_permission_matrix_holds(request, company, as_user, who, url, status):
    response = as_user(request.getfixturevalue(who)).get(url)
    assert response.status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client, company):
    for url in (TEAM_PAGE, STATEMENT, OVERVIEW, "/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_home_sends_a_lead_to_their_team_and_finance_to_the_overview(company, as_user, lead, finance, client):
    assert as_user(lead).get("/")["Location"] == TEAM_PAGE
    client.logout()
    assert as_user(finance).get("/")["Location"] == OVERVIEW


def test_home_refuses_a_person_in_no_team(company, as_user, outsider):
    assert as_user(outsider).get("/").status_code == 403


def test_team_page_shows_direct_plus_allocated_spend(company, as_user, lead):
    response = as_user(lead).get(TEAM_PAGE)
    headline = response.context["page"].headline
    assert headline.spend.direct_cost == Decimal("6.000000000")
    assert headline.spend.allocated_in == Decimal("3.000000000")
    assert headline.spend.total == Decimal("9.000000000")
    assert headline.cache_savings == Decimal("0E-9")
    assert b"$9.00" in response.content


def test_team_page_breaks_spend_down_and_flags_non_production(company, as_user, lead):
    response = as_user(lead).get(TEAM_PAGE)
    environments = {r.label: (r.cost, r.is_production) for r in response.context["page"].breakdowns["environment"]}
    assert environments == {
        "production": (Decimal("3.000000000"), True),
        "staging": (Decimal("3.000000000"), False),
    }
    assert [(c.customer, c.cost, c.requests) for c in response.context["page"].customers] == [
        ("acme", Decimal("3.000000000"), 1)
    ]
    assert [(a.label, a.traces) for a in response.context["page"].agents] == [("bot", 1)]
    assert b"non-production" in response.content


def test_team_page_explains_each_allocation_in_a_sentence(company, as_user, lead):
    response = as_user(lead).get(TEAM_PAGE)
    (line,) = response.context["page"].allocations
    assert (line.amount, line.source_amount, line.share) == (
        Decimal("3.000000000"),
        Decimal("6.000000000"),
        Decimal("0.5"),
    )
    text = html.unescape(response.content.decode())
    assert "50.0% of the platform team's $6.00, by your share of billed cost" in text
    assert "your basis $6.00 of $12.00" in text


def test_team_page_renders_charts(company, as_user, lead):
    content = as_user(lead).get(TEAM_PAGE).content.decode()
    assert "/static/plotly/plotly.min.js" in content
    assert "/static/js/charts.js" in content
    assert content.count('class="plot" data-figure=') >= 4
    assert "<script>" not in content  # no inline script: the Content-Security-Policy allows none


def test_team_page_refuses_a_malformed_month(company, as_user, lead):
    response = as_user(lead).get(TEAM_PAGE, {"month": "2026-13"})
    assert response.status_code == 400
    response = as_user(lead).get(TEAM_PAGE, {"month": "last"})
    assert response.status_code == 400


def test_team_page_refuses_an_unknown_grain(company, as_user, lead):
    assert as_user(lead).get(TEAM_PAGE, {"grain": "hourly"}).status_code == 400


def test_an_earlier_month_shows_no_spend(company, as_user, lead):
    period = company["today"].replace(day=1)
    earlier = f"{period.year - 1}-{period.month:02d}"
    response = as_user(lead).get(TEAM_PAGE, {"month": earlier})
    assert response.status_code == 200
    assert response.context["page"].headline.spend.total == Decimal(0)


def _statement(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_statement_total_equals_the_page_total(company, as_user, lead):
    client = as_user(lead)
    page_total = client.get(TEAM_PAGE).context["page"].headline.spend.total
    rows = _statement(client.get(STATEMENT))
    assert rows[-1]["kind"] == "total"
    assert Decimal(rows[-1]["amount_usd"]) == page_total
    assert sum(Decimal(r["amount_usd"]) for r in rows[:-1]) == page_total


def test_statement_has_a_row_per_product_model_environment_and_per_allocation(company, as_user, lead):
    rows = _statement(as_user(lead).get(STATEMENT))
    assert [(r["kind"], r["product"], r["environment"], r["rule"], r["amount_usd"]) for r in rows[:-1]] == [
        ("direct", "answers", "production", "", "3.000000000"),
        ("direct", "answers", "staging", "", "3.000000000"),
        ("allocated in", "", "", "Platform retrieval", "3.000000000"),
    ]


def test_a_shared_teams_statement_shows_its_spend_allocated_out(company, as_user, admin_user):
    rows = _statement(as_user(admin_user).get("/teams/platform/statement.csv"))
    assert ("allocated out", "Platform retrieval", "-6.000000000") in [
        (r["kind"], r["rule"], r["amount_usd"]) for r in rows
    ]
    assert rows[-1]["amount_usd"] == "0.000000000"


def test_a_model_name_that_looks_like_a_formula_is_quoted_in_the_statement(company, as_user, lead, team):
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"})
    event = {**page_event("f1", timezone.now(), product="answers"), "model": "=HYPERLINK(1)"}
    assert events_ingest(key=api_key_lookup(key.raw_key), events=[event]).accepted == 1
    day_refresh(day=company["today"])

    rows = _statement(as_user(lead).get(STATEMENT))

    assert "'=HYPERLINK(1)" in [r["model"] for r in rows]


def test_overview_reconciles_teams_and_unallocated_with_total_spend(company, as_user, finance):
    response = as_user(finance).get(OVERVIEW)
    reconciliation = response.context["reconciliation"]
    assert reconciliation.total_spend == Decimal("18.000000000")
    assert reconciliation.teams_total + reconciliation.unallocated == reconciliation.total_spend
    assert reconciliation.balances
    totals = {t.slug: t.total for t in response.context["ranks"]}
    assert totals == {"search": Decimal("9.000000000"), "billing": Decimal("9.000000000"), "platform": Decimal("0E-9")}
    assert b"reconciles" in response.content


def test_overview_counts_fixed_costs_and_shows_a_day_they_were_not_allocated_as_a_gap(company, as_user, finance):
    today = company["today"]
    rule = SharedCostRule.objects.create(
        name="Vector database", source="fixed", monthly_amount=Decimal("300.00"), method="even", effective_from=today
    )
    day_allocate(day=today)
    charged = AllocationResult.objects.filter(rule=rule).aggregate(s=Sum("amount"))["s"]

    reconciliation = as_user(finance).get(OVERVIEW).context["reconciliation"]
    assert (reconciliation.fixed_costs, reconciliation.total_spend) == (charged, Decimal("18.000000000") + charged)
    assert reconciliation.balances

    AllocationResult.objects.filter(rule=rule).delete()  # as if the day had not been allocated yet
    response = as_user(finance).get(OVERVIEW)
    assert (response.context["reconciliation"].gap, response.context["reconciliation"].balances) == (charged, False)
    assert b"does not reconcile" in response.content


def test_overview_lists_unattributed_spend_by_api_key(company, as_user, finance, settings):
    from django.utils import timezone

    from apps.allocation.services import day_refresh
    from apps.usage.keys import api_key_lookup
    from apps.usage.services import events_ingest
    from tests.factories import ApiKeyFactory

    key = ApiKeyFactory(team=company["platform"], name="batch-jobs")
    events_ingest(
        key=api_key_lookup(key.raw_key),
        events=[
            {
                "event_id": "u1",
                "timestamp": timezone.now().isoformat(),
                "provider": "anthropic",
                "model": "test-model",
                "input_tokens": 1_000_000,
                "team": "Ghost Team",
            }
        ],
    )
    day_refresh(day=company["today"])
    gaps = as_user(finance).get(OVERVIEW).context["gaps"]
    assert [(g.api_key, g.reason, g.cost) for g in gaps] == [
        ("batch-jobs", "unknown team 'ghost-team'", Decimal("3.000000000"))
    ]


def test_unit_economics_count_customers_and_agent_tasks(company, as_user, lead):
    unit = as_user(lead).get(TEAM_PAGE).context["page"].unit
    assert (unit.active_customers, unit.cost_per_active_customer) == (1, Decimal("3.000000000"))
    assert (unit.agent_tasks, unit.cost_per_agent_task) == (1, Decimal("3.000000000"))
    assert unit.cost_per_request == Decimal("3.000000000")


def test_a_shared_teams_page_shows_its_spend_and_each_team_it_was_allocated_to(company, as_user, admin_user):
    response = as_user(admin_user).get("/teams/platform/")
    lines = response.context["page"].allocated_out
    assert [(a.team, a.rule, a.amount) for a in lines] == [
        ("billing", "Platform retrieval", Decimal("3.000000000")),
        ("search", "Platform retrieval", Decimal("3.000000000")),
    ]
    section = html.unescape(response.content.decode().split('id="allocated-out"')[1].split("</section>")[0])
    assert (
        "Platform spent <strong>$6.00</strong> directly this month; "
        "<strong>$6.00</strong> of it was shared out to 2 teams" in section
    )
    assert '<a href="/teams/search/?month=' in section
    assert "$6.00 of $12.00" in section  # each team's billed cost against all targets'
    assert 'Shared out</td><td class="num">$6.00' in section


def test_a_team_nobody_shares_out_has_no_where_it_went_section(company, as_user, lead):
    response = as_user(lead).get(TEAM_PAGE)
    assert response.context["page"].allocated_out == []
    assert b'id="allocated-out"' not in response.content


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("abcd-ef", "month &#x27;abcd-ef&#x27; is not a month: use YYYY-MM."),
        ("2026-13", "month &#x27;2026-13&#x27; is not a month: use YYYY-MM."),
        ("2999-01", "2999-01 has not begun yet."),
    ],
)
def test_an_invalid_or_future_month_gets_the_styled_error_page(company, as_user, finance, month, message):
    for url in (TEAM_PAGE, OVERVIEW):
        response = as_user(finance).get(url, {"month": month})
        assert response.status_code == 400
        assert 'id="error"' in response.content.decode()
        assert message in response.content.decode()


def test_the_month_picker_stops_at_the_current_month(company, as_user, lead):
    today = company["today"]
    html = as_user(lead).get(TEAM_PAGE).content.decode()
    assert f'max="{today:%Y-%m}"' in html
    assert 'aria-label="Next month"' not in html
