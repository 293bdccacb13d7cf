"""A team lead in a real headless Chromium: logs in, reads the page, switches month, is refused."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")  # `make test` installs it
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def browser_page():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (`make test` does).")
    # Playwright's sync API runs an event loop in this thread; the ORM work of the fixtures is done.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
    # Anything the Content-Security-Policy blocked, or a script that failed, shows here.
    assert [e for e in errors if "403" not in e] == []
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


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
