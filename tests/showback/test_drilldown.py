"""Drill-down: every row links to the filtered view it summarises, over any range of days."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest

pytestmark = pytest.mark.django_db


def test_the_team_page_links_each_product_row_to_its_drill_down(company, as_user, lead):
    today = company["today"]
    html = unescape(as_user(lead).get("/teams/search/").content.decode())
    assert f'href="?start={today.replace(day=1)}&end={today}&product=answers">Answers</a>' in html
    assert f'href="?start={today.replace(day=1)}&end={today}&customer=acme">acme</a>' in html


def test_a_product_drill_down_totals_that_product_and_breaks_it_down_further(company, as_user, lead):
    today = company["today"]
    response = as_user(lead).get("/teams/search/", {"start": today, "end": today, "product": "answers"})
    assert response.status_code == 200
    drill = response.context["drill"]
    assert drill.total == Decimal("6.000000000")
    assert "product" not in drill.breakdowns
    environments = {r.value: r.cost for r in drill.breakdowns["environment"]}
    assert environments == {"production": Decimal("3.000000000"), "staging": Decimal("3.000000000")}
    production = next(r for r in drill.breakdowns["environment"] if r.value == "production")
    assert production.link == f"?start={today}&end={today}&product=answers&environment=production"


def test_narrowing_to_a_customer_keeps_only_their_spend(company, as_user, lead):
    today = company["today"]
    response = as_user(lead).get("/teams/search/", {"start": today, "end": today, "customer": "acme"})
    drill = response.context["drill"]
    assert drill.total == Decimal("3.000000000")
    assert [r.value for r in drill.breakdowns["agent"]] == ["bot"]
    assert b'data-testid="total">$3.00<' in response.content


def test_a_range_with_no_spend_shows_zero(company, as_user, lead):
    before = company["today"] - timedelta(days=40)
    response = as_user(lead).get("/teams/search/", {"start": before, "end": before})
    assert response.context["drill"].total == Decimal("0E-9")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "yesterday"}, "start must be a day as YYYY-MM-DD, not &#x27;yesterday&#x27;."),
        ({"start": "2026-03-05", "end": "2026-03-01"}, "end must not be before start."),
        ({"start": "2999-01-01"}, "start 2999-01-01 has not begun yet."),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "a range covers at most 366 days."),
    ],
)
def test_a_bad_range_gets_the_error_page_naming_the_field(company, as_user, lead, params, message):
    response = as_user(lead).get("/teams/search/", params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_outsider_cannot_drill_into_a_team(company, as_user, outsider):
    assert as_user(outsider).get("/teams/search/", {"product": "answers"}).status_code == 403


def test_bar_charts_carry_the_links_their_bars_open(company, as_user, lead):
    html = unescape(as_user(lead).get("/teams/search/").content.decode())
    assert '"meta":{"links":["?start=' in html


def test_the_overviews_model_rows_open_the_organisations_spend_on_that_model(company, as_user, finance):
    today = company["today"]
    html = unescape(as_user(finance).get("/overview/").content.decode())
    assert f'href="?start={today.replace(day=1)}&end={today}&model=test-model">test-model</a>' in html

    response = as_user(finance).get("/overview/", {"start": today, "end": today, "model": "test-model"})
    drill = response.context["drill"]
    assert drill.total == Decimal("18.000000000")  # every team's metered spend on the model
    assert "The organisation" in response.content.decode()


def test_a_lead_cannot_drill_into_the_organisation(company, as_user, lead):
    assert as_user(lead).get("/overview/", {"model": "test-model"}).status_code == 403


def test_the_overviews_movers_link_to_the_week_they_grew_in(company, as_user, finance):
    today = company["today"]
    week = f"start={today - timedelta(days=6)}&end={today}"
    html = unescape(as_user(finance).get("/overview/").content.decode())
    movers = html.split('id="movers"')[1].split("</section>")[0]
    assert f'href="/teams/search/?{week}">Search</a>' in movers
    assert f'href="?product=answers&{week}">Answers</a>' in movers
