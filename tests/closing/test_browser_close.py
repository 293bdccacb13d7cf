"""Finance closes last month from the overview in a real headless Chromium, at 1400 and 390 px:
the checklist, the confirmation naming the month and its total, then the status on the pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing.models import BillingLine
from apps.closing.models import MonthClose
from tests.rollups.events import event, ingest, refresh_dirty_days
from tests.showback.test_browser import DESKTOP, PASSWORD, PHONE, assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def billed_month(api_key, price, team, months):
    """Search spent $6.00 last month (two calls of 1M input tokens), and anthropic billed $6.00."""
    ingest(
        api_key,
        *[event(day=months.open_day, team="search", input_tokens=1_000_000, output_tokens=0) for _ in range(2)],
    )
    BillingLine.objects.create(
        source=BillingLine.Source.FOCUS,
        provider="anthropic",
        day=months.open_day,
        billed_cost=Decimal("6"),
        effective_cost=Decimal("6"),
    )
    refresh_dirty_days()
    return months


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_finance_closes_last_month_from_the_overview(billed_month, finance, live_server, browser_page, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    month = billed_month.open
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", finance.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/overview/")

    page.goto(f"{live_server.url}/overview/?month={month:%Y-%m}")
    assert page.text_content("#month-status").split() == f"Open {month:%B %Y} is open. Close {month:%B %Y}…".split()
    page.click(f"#month-status >> text=Close {month:%B %Y}…")
    page.wait_for_url(f"**/overview/close/?month={month:%Y-%m}")

    assert page.locator("#checklist li.clear").count() == 5
    assert page.text_content("[data-testid=close-total]") == "$6.00"
    assert_fits(page, width)
    page.click(f"#confirm button:has-text('Close {month:%B %Y} at $6.00')")
    page.wait_for_url(f"**/overview/?month={month:%Y-%m}")

    close = MonthClose.objects.get()
    assert (close.closed_by, close.total, close.forced) == (finance, Decimal("6.000000000"), False)
    status = " ".join(page.text_content("#month-status").split())
    assert status.startswith(
        f"Closed {month:%B %Y} closed by finance on {close.closed_at:%-d %b %Y, %H:%M} UTC at $6.00."
    )
    assert f"Closed {month:%B %Y} at $6.00." in page.text_content("main")
    assert_fits(page, width)

    page.goto(f"{live_server.url}/teams/search/?month={month:%Y-%m}")
    assert "closed by finance" in page.text_content("#month-status")
    assert_fits(page, width)
