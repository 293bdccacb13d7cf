"""An event of a model with no price shows at $0.00, marked unpriced wherever that $0.00 is shown."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tests.rollups.events import event, ingest, refresh_dirty_days

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 14)


@pytest.fixture
def unpriced_event(settings, api_key, price, team):
    """search: one priced call ($0.0045) and two of mystery-model, which has no price."""
    settings.ROLLUP_REFRESH_ON_INGEST = False
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        ingest(
            api_key,
            event(day=DAY, team="search", feature="ask"),
            *[event(day=DAY, team="search", feature="ask", model="mystery-model") for _ in range(2)],
        )
        refresh_dirty_days()
        yield


MARK = (
    '<span class="tag warn unpriced" title="2 events of a model with no price, rated $0.00 until a price is added">'
    "2 unpriced</span>"
)


def test_the_team_page_marks_the_unpriced_rows_and_the_headline(unpriced_event, lead, as_user):
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        page = as_user(lead).get("/teams/search/").content.decode()

    assert page.count(MARK) == 5  # the headline, and the product, feature, model and environment rows
    assert f"{MARK} events counted at $0.00" in page


def test_the_drilldown_marks_the_unpriced_rows(unpriced_event, lead, as_user):
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        page = as_user(lead).get("/teams/search/?start=2026-11-01&end=2026-11-20&feature=ask").content.decode()

    assert '<td class="num">$0.00' + MARK.join([" ", ""]) in page  # mystery-model's row
    assert f"before shared costs {MARK}" in page


def test_the_overview_marks_the_unpriced_model_in_the_mix(unpriced_event, finance, as_user):
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        page = as_user(finance).get("/overview/").content.decode()

    assert 'mystery-model</a></td><td class="num">$0.00 <span class="tag warn unpriced"' in page
    assert page.count('class="tag warn unpriced"') == 1
