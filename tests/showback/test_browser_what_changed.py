"""A lead follows What changed to a drill-down in a real headless Chromium, at 390 and 1400 px."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from tests.rollups.events import event, ingest, refresh_dirty_days

from .test_browser import DESKTOP, PHONE, _log_in
from .test_browser_phone_tables import assert_tables_read_well

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def moved(settings, api_key, price, team):
    """search today: deep-research $9, ask $3; the same day last month: $3 each (+$6.00 in all)."""
    settings.ROLLUP_REFRESH_ON_INGEST = False
    today = timezone.now().date()
    before = today.replace(day=1) - timedelta(days=1)
    before = before.replace(day=min(today.day, before.day))

    def call(day, millions: int, feature: str) -> dict:
        at = datetime.combine(day, time.min, tzinfo=UTC)
        fields = {"input_tokens": millions * 1_000_000, "output_tokens": 0, "feature": feature, "team": "search"}
        return {**event(day=day), "timestamp": at.isoformat(), **fields}

    ingest(api_key, call(today, 3, "deep-research"), call(today, 1, "ask"))
    ingest(api_key, call(before, 1, "deep-research"), call(before, 1, "ask"))
    refresh_dirty_days()


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_a_lead_follows_what_changed_to_the_drilldown(moved, lead, live_server, browser_page, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, lead.username)
    page.wait_for_url(f"{live_server.url}/teams/search/")
    assert page.text_content("#what-changed [data-testid=changed-by]").strip() == "+$6.00"
    assert_tables_read_well(page, width)

    page.click("#changed-feature a:text('deep-research')")
    page.wait_for_url("**/teams/search/?start=*&feature=deep-research")
    page.wait_for_selector("#daily-trend .main-svg")
    assert page.text_content("[data-testid=total]").strip() == "$9.00"
    assert page.text_content("#what-changed [data-testid=changed-by]").strip() == "+$6.00"
    assert_tables_read_well(page, width)
