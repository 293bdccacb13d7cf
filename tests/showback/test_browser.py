"""A lead, finance and an admin in a real headless Chromium, on a phone (390 px) and a desktop
(1400 px): they log in, read their pages, switch month, are refused, and nothing is wider than the screen."""

from __future__ import annotations

import pytest

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_a_lead_reads_their_page_switches_month_and_is_refused_another_team(company, lead, live_server, browser_page):
    page = browser_page
    _log_in(page, live_server, lead.username)
    page.wait_for_url(f"{live_server.url}/teams/search/")
    assert page.text_content("[data-testid=total]").strip() == "$9.00"
    page.wait_for_selector("#trend-chart .main-svg")  # plotly.js drew the chart in the browser
    assert page.locator(".js-plotly-plot").count() >= 4

    page.click("a[aria-label='Previous month']")
    page.wait_for_url("**/teams/search/?month=*")
    assert page.text_content("[data-testid=total]").strip() == "$0.00"

    response = page.goto(f"{live_server.url}/teams/billing/")
    assert response.status == 403
    assert "your own teams" in page.text_content("main")


def test_finance_sees_the_overview_with_charts(company, finance, live_server, browser_page):
    page = browser_page
    _log_in(page, live_server, finance.username)
    page.wait_for_url(f"{live_server.url}/overview/")
    assert page.text_content("[data-testid=total]").strip() == "$18.00"
    page.wait_for_selector("#teams .main-svg")
    assert "reconciles" in page.text_content("#reconciliation")


PHONE, DESKTOP = 390, 1400

# Every visible element's box against the viewport; a box past either edge scrolls the page sideways.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    // plotly.js measures text in an off-screen <svg id="js-plotly-tester">, never shown.
    if ((box.width === 0 && box.height === 0) || el.closest("#js-plotly-tester")) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      wide.push(`${el.tagName.toLowerCase()}#${el.id} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


def assert_fits(page, width: int) -> None:
    page.wait_for_timeout(300)  # plotly.js resizes its charts once the page has loaded
    found = page.evaluate(OVERFLOW)
    assert found["width"] == width
    assert found["scrollWidth"] <= width, found
    assert found["wide"] == []


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_a_lead_reads_their_team_page_at_the_width_of_the_screen(company, lead, live_server, browser_page, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, lead.username)
    page.wait_for_url(f"{live_server.url}/teams/search/")
    page.wait_for_selector("#trend-chart .main-svg")
    assert page.text_content("[data-testid=total]").strip() == "$9.00"
    assert_fits(page, width)
    nav = page.locator("header nav")
    if width == PHONE:
        assert not nav.is_visible()
        page.click("label.nav-button")
        assert nav.is_visible()
        assert_fits(page, width)
    else:
        assert nav.is_visible()
        assert not page.locator("label.nav-button").is_visible()
    page.goto(f"{live_server.url}/teams/search/alerts/")
    assert_fits(page, width)
    page.goto(f"{live_server.url}/teams/search/")
    # Drill down: the product row opens that product's days, narrowed further from there.
    page.click("#breakdown-product a:text('Answers')")
    page.wait_for_url("**/teams/search/?start=*&product=answers")
    assert page.text_content("[data-testid=total]").strip() == "$6.00"
    page.wait_for_selector("#drill-environment .main-svg")
    assert_fits(page, width)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_finance_reads_the_overview_at_the_width_of_the_screen(company, finance, live_server, browser_page, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, finance.username)
    page.wait_for_url(f"{live_server.url}/overview/")
    page.wait_for_selector("#teams .main-svg")
    assert page.text_content("[data-testid=total]").strip() == "$18.00"
    assert_fits(page, width)
    page.click("#model-table a:text('test-model')")
    page.wait_for_url("**/overview/?start=*&model=test-model")
    assert page.text_content("[data-testid=total]").strip() == "$18.00"
    assert_fits(page, width)
    # The shared team's page: its spend and where it went, no empty axes.
    page.goto(f"{live_server.url}/teams/platform/")
    page.wait_for_selector("#trend-chart .main-svg")
    assert "shared out to 2 teams" in page.text_content("#allocated-out")
    assert page.text_content("#burn-chart").strip() == "No spend to chart for this period."
    assert_fits(page, width)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_an_admin_sees_the_styled_error_for_a_future_month_at_the_width_of_the_screen(
    company, admin_user, live_server, browser_page, width
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, admin_user.username)
    page.wait_for_url(f"{live_server.url}/overview/")
    response = page.goto(f"{live_server.url}/teams/search/?month=2999-01")
    assert response.status == 400
    assert "has not begun yet" in page.text_content("#error")
    page.console_errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
    assert_fits(page, width)
    page.goto(f"{live_server.url}/admin/")
    assert_fits(page, width)
