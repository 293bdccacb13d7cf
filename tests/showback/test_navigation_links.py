"""Finance reaches Savings from the top navigation and the month's FOCUS export from the overview."""

from __future__ import annotations

import pytest
import time_machine

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-11-20 12:00Z", tick=False)
def test_the_overview_links_the_months_focus_export_and_it_downloads(finance, as_user):
    client = as_user(finance)
    page = client.get("/overview/?month=2026-10").content.decode()

    link = '<a class="button" id="focus-export" href="/api/v1/focus.csv?month=2026-10">'
    assert link in page
    response = client.get("/api/v1/focus.csv?month=2026-10")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="focus-2026-10.csv"'


def test_savings_is_in_the_top_navigation_for_finance(finance, as_user):
    page = as_user(finance).get("/savings/").content.decode()

    assert '<a href="/savings/" class="active">Savings</a>' in page


def test_a_lead_has_no_savings_link_they_could_not_open(lead, as_user):
    page = as_user(lead).get("/teams/search/").content.decode()

    assert 'href="/savings/"' not in page.split("</nav>")[0]
