from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from apps.insights.models import Opportunity
from tests.factories import DailyRollupFactory, OpportunityFactory


@pytest.fixture
def as_user():
    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def opportunity(team):
    OpportunityFactory(team=team, lever="caching", monthly_saving=Decimal("3.25"), sentence="Smaller one.")
    return OpportunityFactory(team=team, monthly_saving=Decimal("41.5"), sentence="Route classify to Sonnet.")


def test_the_team_page_lists_its_savings_largest_first_with_actions_for_a_lead(as_user, lead, team, opportunity):
    DailyRollupFactory(team=team, feature="classify", billed_cost=Decimal("70"))  # yesterday: $75 a month

    html = as_user(lead).get(f"/teams/{team.slug}/").content.decode()

    assert html.index("Route classify to Sonnet.") < html.index("Smaller one.")
    # Routing saves $41.50 of the $75; caching its 3.25/75 of the $33.50 left: $1.451666667.
    assert "$41.50" in html and "$42.95 a month open or accepted, levers on the same spend combined" in html
    assert f"/savings/{opportunity.pk}/accept/" in html


def test_a_member_reads_the_savings_without_actions(as_user, member, team, opportunity):
    html = as_user(member).get(f"/teams/{team.slug}/").content.decode()

    assert "Route classify to Sonnet." in html
    assert f"/savings/{opportunity.pk}/accept/" not in html


def test_a_lead_accepts_then_marks_done(as_user, lead, team, opportunity):
    client = as_user(lead)

    assert client.post(f"/savings/{opportunity.pk}/accept/").status_code == 302
    assert client.post(f"/savings/{opportunity.pk}/done/").status_code == 302

    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.owner) == (Opportunity.Status.DONE, lead)


def test_a_lead_dismisses_with_a_reason(as_user, lead, opportunity):
    response = as_user(lead).post(f"/savings/{opportunity.pk}/dismiss/", {"reason": "Needs Opus quality."})

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.dismissed_reason) == ("dismissed", "Needs Opus quality.")


def test_dismissing_without_a_reason_is_a_400_saying_so(as_user, lead, opportunity):
    response = as_user(lead).post(f"/savings/{opportunity.pk}/dismiss/", {"reason": ""})

    assert response.status_code == 400
    assert b"reason" in response.content


@pytest.mark.parametrize("who", ["member", "outsider", "finance"])
def test_only_leads_and_admins_act(request, as_user, opportunity, who):
    response = as_user(request.getfixturevalue(who)).post(f"/savings/{opportunity.pk}/accept/")

    assert response.status_code == 403
    opportunity.refresh_from_db()
    assert opportunity.status == "open"


def test_an_admin_acts_on_any_team(as_user, admin_user, opportunity):
    assert as_user(admin_user).post(f"/savings/{opportunity.pk}/accept/").status_code == 302


def test_finance_sees_totals_by_lever_and_team_and_realised_savings(as_user, finance, team, opportunity):
    OpportunityFactory(
        team=team, status="done", monthly_saving=Decimal("9"), realised_monthly_saving=Decimal("7.5"), sentence="Done."
    )

    html = as_user(finance).get("/savings/").content.decode()

    assert "$44.75" in html  # open: 41.50 + 3.25
    assert "Model routing" in html and "Prompt caching" in html
    assert 'data-testid="savings-realised">$7.50' in html


def test_the_organisation_savings_page_is_for_finance_and_admins(as_user, lead):
    assert as_user(lead).get("/savings/").status_code == 403


def test_the_overview_links_to_the_savings_page(as_user, finance):
    assert 'href="/savings/"' in as_user(finance).get("/overview/").content.decode()


def test_a_lead_accepts_with_a_due_date_and_owns_it(as_user, lead, opportunity):
    response = as_user(lead).post(f"/savings/{opportunity.pk}/accept/", {"due_on": "2999-01-31"})

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.owner, opportunity.due_on) == (lead, date(2999, 1, 31))


def test_a_bad_due_date_is_a_400_naming_the_field(as_user, lead, opportunity):
    response = as_user(lead).post(f"/savings/{opportunity.pk}/accept/", {"due_on": "31/01/2999"})

    assert response.status_code == 400
    assert response.content.decode() == "due_on: '31/01/2999' is not a date; use YYYY-MM-DD."


def test_an_acceptance_without_a_date_is_due_in_thirty_days(as_user, lead, opportunity):
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        as_user(lead).post(f"/savings/{opportunity.pk}/accept/")

    opportunity.refresh_from_db()
    assert opportunity.due_on == date(2026, 12, 20)


def test_a_dismissal_can_be_undone(as_user, lead, team, opportunity):
    client = as_user(lead)
    client.post(f"/savings/{opportunity.pk}/dismiss/", {"reason": "Not now"})
    assert f"/savings/{opportunity.pk}/undismiss/" in client.get(f"/teams/{team.slug}/").content.decode()

    assert client.post(f"/savings/{opportunity.pk}/undismiss/").status_code == 302

    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.dismissed_reason, opportunity.dismissed_saving) == ("open", "", None)


def test_drift_is_an_alert_that_cannot_be_accepted(as_user, lead, team):
    drift = OpportunityFactory(team=team, lever="unit_cost_drift", sentence="Cost per request rose 40%.")

    html = as_user(lead).get(f"/teams/{team.slug}/").content.decode()
    response = as_user(lead).post(f"/savings/{drift.pk}/accept/")

    assert f"/savings/{drift.pk}/accept/" not in html
    assert response.status_code == 400
    assert "not a saving" in response.content.decode()


def test_finance_downloads_the_combined_savings_as_csv(as_user, finance, team, opportunity):
    DailyRollupFactory(team=team, feature="classify", billed_cost=Decimal("70"))

    response = as_user(finance).get("/savings/savings.csv")

    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("team,scope,lever,status,owner,due_on,found_monthly_saving,")
    scope = "75.000000000,75.000000000,42.951666667"  # its monthly spend, what it draws on, combined
    assert lines[1:] == [
        f"search,feature classify,routing,open,,,41.500000000,0.553333,41.500000000,{scope}",
        f"search,feature classify,caching,open,,,3.250000000,0.043333,1.451666667,{scope}",
    ]


def test_the_savings_csv_is_for_finance_and_admins(as_user, lead):
    assert as_user(lead).get("/savings/savings.csv").status_code == 403
