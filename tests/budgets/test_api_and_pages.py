"""Anomalies and alerts as JSON, scoped like the pages; the budget, anomalies and alert log on the pages."""

from __future__ import annotations

import calendar
import io
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.budgets.models import Alert, ChangeSettings
from apps.budgets.services import alert_raise
from tests.factories import AlertFactory, AnomalyFactory, BudgetFactory, ProductFactory

from .spend import Spend, noon, prices_create, today_start

pytestmark = pytest.mark.django_db

ANOMALIES = "/api/v1/anomalies"
ALERTS = "/api/v1/alerts"


@pytest.fixture
def api_as(request):
    def client_for(who: str) -> APIClient:
        if who == "key":
            return request.getfixturevalue("key_client")
        client = APIClient()
        client.force_authenticate(request.getfixturevalue(who))
        return client

    return client_for


@pytest.fixture
def anomalies(team, other_team):
    """One anomaly of each team and one of no team (an environment nobody owns)."""
    return {
        "search": AnomalyFactory(team=team, subject="research-bot"),
        "billing": AnomalyFactory(team=other_team, subject="invoice-bot"),
        "nobody": AnomalyFactory(team=None, dimension="environment", subject="development"),
    }


@pytest.fixture
def alerts(team, other_team):
    return {
        "search": AlertFactory(team=team),
        "billing": AlertFactory(team=other_team),
        "organisation": AlertFactory(team=None),
    }


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("key", {"research-bot"}),
        ("lead", {"research-bot"}),
        ("member", {"research-bot"}),
        ("finance", {"research-bot", "invoice-bot", "development"}),
        ("admin_user", {"research-bot", "invoice-bot", "development"}),
    ],
)
def test_the_anomalies_api_shows_each_caller_what_their_pages_show(api_as, anomalies, who, visible):
    response = api_as(who).get(ANOMALIES)

    assert response.status_code == 200
    assert {a["subject"] for a in response.json()} == visible


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("key", {"team:search"}),
        ("lead", {"team:search"}),
        ("finance", {"team:search", "team:billing", "organisation"}),
        ("admin_user", {"team:search", "team:billing", "organisation"}),
    ],
)
def test_the_alerts_api_shows_each_caller_what_their_pages_show(api_as, alerts, who, visible):
    response = api_as(who).get(ALERTS)

    assert response.status_code == 200
    assert {a["subject"] for a in response.json()} == visible


@pytest.mark.parametrize("url", [ANOMALIES, ALERTS])
def test_an_outsider_gets_403_from_the_apis(api_as, anomalies, alerts, url):
    assert api_as("outsider").get(url).status_code == 403


@pytest.mark.parametrize("url", [ANOMALIES, ALERTS])
def test_an_anonymous_caller_is_refused(anon_client, url):
    response = anon_client.get(url)

    assert (response.status_code, response["WWW-Authenticate"]) == (401, 'Bearer realm="api"')


@pytest.mark.parametrize("url", [ANOMALIES, ALERTS])
def test_a_malformed_since_is_a_400_naming_the_field(api_as, url):
    response = api_as("finance").get(url, {"since": "last tuesday"})

    assert response.status_code == 400
    assert list(response.json()) == ["since"]


def test_since_leaves_out_older_anomalies(api_as, team):
    today = timezone.now().date()
    AnomalyFactory(team=team, subject="old-bot", day=today - timedelta(days=10))
    AnomalyFactory(team=team, subject="new-bot", day=today - timedelta(days=2))

    since = (today - timedelta(days=3)).isoformat()
    assert [a["subject"] for a in api_as("lead").get(ANOMALIES, {"since": since}).json()] == ["new-bot"]


def test_anomalies_default_to_the_last_seven_days(api_as, team):
    today = timezone.now().date()
    AnomalyFactory(team=team, subject="old-bot", day=today - timedelta(days=8))
    AnomalyFactory(team=team, subject="new-bot", day=today - timedelta(days=7))

    assert [a["subject"] for a in api_as("lead").get(ANOMALIES).json()] == ["new-bot"]


def test_an_anomaly_reads_back_with_money_as_decimal_strings_and_its_drivers(api_as, anomalies):
    [body] = api_as("key").get(ANOMALIES).json()

    assert (body["team"], body["dimension"], body["amount"], body["baseline"]) == (
        "search",
        "agent",
        "412.000000000",
        "38.000000000",
    )
    assert body["drivers"][0]["value"] == "claude-opus-4-1"
    assert body["acknowledged"] is False


@pytest.fixture
def month_of_spend(spend, team):
    """$10 every day of the last month, today included: a flat series, so the forecast is exact."""
    today = timezone.now().date()
    for days_ago in range(1, 32):
        spend.add(noon(today - timedelta(days=days_ago)), "10", team=team)
    spend.add(today_start(), "10", team=team)
    spend.flush()
    return today


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_team_page_shows_the_budget_remaining_and_forecast(as_user, lead, month_of_spend, team):
    BudgetFactory(team=team, monthly_amount=Decimal("1000.00"))
    today = month_of_spend
    forecast = 10 * calendar.monthrange(today.year, today.month)[1]

    budget = _section(as_user(lead).get("/teams/search/").content.decode(), "budget")

    assert "Monthly budget $1,000.00" in _text(budget)
    assert f"Remaining ${1000 - 10 * today.day:,}.00" in _text(budget)
    assert f"Forecast month end ${forecast:,}.00" in _text(budget)


def test_the_team_page_without_a_budget_says_so_and_still_forecasts(as_user, lead, month_of_spend):
    budget = _section(as_user(lead).get("/teams/search/").content.decode(), "budget")

    assert "No budget is set for Search this month" in budget
    assert "Forecast month end" in budget


def test_the_overview_shows_the_organisations_budget_and_forecast(as_user, finance, month_of_spend):
    BudgetFactory(team=None, monthly_amount=Decimal("2000.00"))
    today = month_of_spend
    forecast = 10 * calendar.monthrange(today.year, today.month)[1]

    html = as_user(finance).get("/overview/").content.decode()

    budget = _text(_section(html, "budget"))
    assert "Monthly budget $2,000.00" in budget
    assert f"Remaining ${2000 - 10 * today.day:,}.00" in budget
    assert f"Forecast month end ${forecast:,}.00" in budget
    assert '"name":"Budget"' in unescape(_section(html, "burn-chart"))


def test_the_team_page_lists_its_product_budgets(as_user, lead, month_of_spend, team):
    BudgetFactory(team=team, product=ProductFactory(slug="answers", name="Answers", team=team), monthly_amount=50)

    section = _text(_section(as_user(lead).get("/teams/search/").content.decode(), "budget"))

    assert "Answers $50.00 $0.00 (0.0%)" in section


def test_the_team_page_draws_the_burn_chart_with_the_budget_line(as_user, lead, month_of_spend, team):
    BudgetFactory(team=team, monthly_amount=Decimal("1000.00"))

    html = as_user(lead).get("/teams/search/").content.decode()

    burn = unescape(_section(html, "burn-chart"))
    assert all(f'"name":"{trace}"' in burn for trace in ("Actual", "Forecast", "Budget"))


def test_the_team_page_lists_its_anomalies_with_an_acknowledge_button(as_user, lead, anomalies):
    html = as_user(lead).get("/teams/search/").content.decode()

    section = _section(html, "anomalies")
    assert _as_shown(anomalies["search"]) in section
    assert f'action="/anomalies/{anomalies["search"].pk}/acknowledge/"' in section
    assert "Acknowledge</button>" in section
    assert _as_shown(anomalies["billing"]) not in section


def _as_shown(anomaly) -> str:
    """An anomaly's explanation as the pages print it: its names in bold, without backticks."""
    return re.sub(r"`([^`]*)`", r"<strong>\1</strong>", anomaly.explanation)


def _acknowledge(client, anomaly, next_url="/teams/search/"):
    return client.post(f"/anomalies/{anomaly.pk}/acknowledge/", {"next": next_url})


def test_a_lead_acknowledges_an_anomaly_of_their_team(as_user, lead, anomalies):
    response = _acknowledge(as_user(lead), anomalies["search"])

    anomalies["search"].refresh_from_db()
    assert (response.status_code, response.url) == (302, "/teams/search/")
    assert anomalies["search"].acknowledged_by == lead
    assert anomalies["search"].acknowledged_at is not None


def test_an_acknowledged_anomaly_shows_who_acknowledged_it(as_user, lead, anomalies):
    client = as_user(lead)
    _acknowledge(client, anomalies["search"])

    section = _section(client.get("/teams/search/").content.decode(), "anomalies")

    assert "acknowledged by lead" in section
    assert "Acknowledge</button>" not in section


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_only_a_lead_finance_or_an_admin_may_acknowledge(request, as_user, anomalies, who):
    response = _acknowledge(as_user(request.getfixturevalue(who)), anomalies["search"])

    anomalies["search"].refresh_from_db()
    assert response.status_code == 403
    assert anomalies["search"].acknowledged_at is None


def test_a_lead_cannot_acknowledge_another_teams_anomaly(as_user, lead, anomalies):
    assert _acknowledge(as_user(lead), anomalies["billing"]).status_code == 403


def test_acknowledging_refuses_to_redirect_to_another_site(as_user, lead, anomalies):
    response = _acknowledge(as_user(lead), anomalies["search"], next_url="https://evil.example/phish")

    assert (response.status_code, response.url) == (302, "/")


def test_acknowledging_with_a_next_that_is_no_path_goes_home(as_user, lead, anomalies):
    response = _acknowledge(as_user(lead), anomalies["search"], next_url="teams")

    assert (response.status_code, response.url) == (302, "/")


def test_a_member_sees_the_anomalies_without_an_acknowledge_button(as_user, member, anomalies):
    section = _section(as_user(member).get("/teams/search/").content.decode(), "anomalies")

    assert _as_shown(anomalies["search"]) in section
    assert "Acknowledge</button>" not in section


def test_a_past_months_page_lists_only_that_months_anomalies(as_user, lead, team):
    this_month = timezone.now().date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    earlier = AnomalyFactory(team=team, day=last_month, explanation="a spike last month")
    later = AnomalyFactory(team=team, day=this_month, explanation="a spike this month")

    section = _section(
        as_user(lead).get("/teams/search/", {"month": f"{last_month:%Y-%m}"}).content.decode(), "anomalies"
    )

    assert earlier.explanation in section
    assert later.explanation not in section


def test_acknowledging_needs_a_post(as_user, lead, anomalies):
    assert as_user(lead).get(f"/anomalies/{anomalies['search'].pk}/acknowledge/").status_code == 405


def test_the_alert_log_lists_the_teams_alerts_with_their_delivery_status(
    as_user, lead, team, alerts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(
            kind=Alert.Kind.FORECAST, subject="team:search", period="2026-11", team=team, message="Over budget."
        )

    html = as_user(lead).get("/teams/search/alerts/").content.decode()

    assert "Forecast above budget" in html
    assert "Over budget." in html
    assert "email: sent" in html
    assert alerts["search"].message in html
    assert alerts["billing"].message not in html


def test_an_outsider_cannot_read_a_teams_alert_log(as_user, outsider, alerts):
    assert as_user(outsider).get("/teams/search/alerts/").status_code == 403


def test_the_overview_shows_every_anomaly(as_user, finance, anomalies):
    section = _section(as_user(finance).get("/overview/").content.decode(), "anomalies")

    assert all(_as_shown(a) in section for a in anomalies.values())


def test_the_overview_projects_each_providers_next_three_months(as_user, finance, month_of_spend):
    today = month_of_spend
    months = []
    start = today.replace(day=calendar.monthrange(today.year, today.month)[1]) + timedelta(days=1)
    for _ in range(3):
        days = calendar.monthrange(start.year, start.month)[1]
        months.append((start, days))
        start += timedelta(days=days)

    section = _section(as_user(finance).get("/overview/").content.decode(), "projection")

    assert '<td><a href="/overview/commitment/?provider=anthropic">anthropic</a></td>' in section
    for month, days in months:
        assert f"{month:%b %Y}</th>" in section
        assert f'<td class="num">${10 * days}.00</td>' in section


def test_check_spend_prints_the_new_alerts_then_none_the_second_time(
    month_of_spend, team, lead, django_capture_on_commit_callbacks
):
    BudgetFactory(team=team, monthly_amount=Decimal("10.00"), thresholds=[100])
    ChangeSettings.objects.create(threshold_percent=None)  # budget alerts only (month changes: test_what_changed)
    first, second = io.StringIO(), io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("check_spend", stdout=first)
        call_command("check_spend", stdout=second)

    spent = 10 * month_of_spend.day  # $10 a day so far this month, against a $10 budget
    assert (
        f"[threshold] Search has used {10 * spent}% of its {month_of_spend:%Y-%m} budget, past its 100% threshold: "
        f"${spent}.00 of $10.00."
    ) in first.getvalue()
    assert "[forecast] Search is forecast to spend" in first.getvalue()
    assert first.getvalue().endswith("2 new alert(s).\n")
    assert second.getvalue() == "0 new alert(s).\n"


def test_a_team_over_its_budget_sees_a_banner_and_one_within_it_does_not(as_user, lead, team):
    prices_create()
    BudgetFactory(team=team, monthly_amount=Decimal("10.00"))
    answers = ProductFactory(slug="answers", name="Answers", team=team)
    BudgetFactory(team=team, product=answers, monthly_amount=Decimal("100.00"))
    spend = Spend()
    spend.add(today_start(), "9", team=team, product="answers")
    spend.flush()
    assert 'id="over-budget"' not in as_user(lead).get("/teams/search/").content.decode()

    spend.add(today_start(), "6", team=team, product="answers")
    spend.flush()
    html = as_user(lead).get("/teams/search/").content.decode()
    banner = re.search(r'<p class="banner over" id="over-budget">(.*?)</p>', html).group(1)
    assert banner == f"Search has spent $15.00, 150% of its $10.00 budget for {today_start():%B}."
