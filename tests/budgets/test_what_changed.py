"""What changed: the month so far against the same days of last month, split exactly by product,
feature, model, customer and agent; a rise past the admin's threshold is an anomaly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from apps.budgets.changes import DIMENSIONS, month_change_check, previous_same_days, team_what_changed
from apps.budgets.models import Alert, Anomaly, ChangeSettings
from tests.rollups.events import event, ingest, refresh_dirty_days

pytestmark = pytest.mark.django_db

OCT, NOV = date(2026, 10, 5), date(2026, 11, 5)


def _call(day: date, millions: str, **tags) -> dict:
    """`millions` of input tokens of test-model: $3.00 a million."""
    return event(day=day, team="search", input_tokens=int(Decimal(millions) * 1_000_000), output_tokens=0, **tags)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel("2026-11-20 12:00Z", tick=False):
        yield


@pytest.fixture
def search_months(settings, api_key, price, team):
    """October 1–19: ask $3 (acme), deep-research $3 (globex). November 1–19: ask $3 (acme),
    deep-research $9 (globex), summarise $1.50 (no customer): $6.00 → $13.50."""
    settings.ROLLUP_REFRESH_ON_INGEST = False
    ingest(
        api_key,
        _call(OCT, "1", feature="ask", customer="acme", agent="helper"),
        _call(OCT, "1", feature="deep-research", customer="globex", product="research"),
        _call(NOV, "1", feature="ask", customer="acme", agent="helper"),
        _call(NOV, "3", feature="deep-research", customer="globex", product="research"),
        _call(NOV, "0.5", feature="summarise", agent="helper"),
    )
    refresh_dirty_days()


def test_the_same_days_of_the_month_before_are_compared():
    assert previous_same_days(date(2026, 11, 1), date(2026, 11, 19)) == (date(2026, 10, 1), date(2026, 10, 19))
    assert previous_same_days(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous_same_days(date(2026, 3, 30), date(2026, 4, 2)) == (date(2026, 2, 28), date(2026, 3, 3))


def test_each_tag_splits_the_change_into_contributions_that_add_up_to_it_exactly(search_months, team):
    changed = team_what_changed(team=team, start=date(2026, 11, 1), end=date(2026, 11, 19))

    assert (changed.before, changed.now, changed.change) == (Decimal("6"), Decimal("13.5"), Decimal("7.5"))
    assert [d.dimension for d in changed.dimensions] == list(DIMENSIONS)
    assert [d.total for d in changed.dimensions] == [Decimal("7.500000000")] * 5
    by = {d.dimension: [(c.value, c.before, c.now, c.delta) for c in d.contributions] for d in changed.dimensions}
    assert by["feature"] == [
        ("deep-research", Decimal("3"), Decimal("9"), Decimal("6")),
        ("summarise", Decimal("0"), Decimal("1.5"), Decimal("1.5")),
    ]
    assert by["customer"] == [("globex", 3, 9, 6), ("", 0, Decimal("1.5"), Decimal("1.5"))]
    assert by["agent"] == [("", 3, 9, 6), ("helper", 3, Decimal("4.5"), Decimal("1.5"))]
    assert by["model"] == [("test-model", 6, Decimal("13.5"), Decimal("7.5"))]


def test_small_contributions_are_one_line_that_keeps_the_sum_exact(settings, api_key, price, team):
    settings.ROLLUP_REFRESH_ON_INGEST = False
    ingest(api_key, *[_call(NOV, f"0.{n}", feature=f"f{n}") for n in range(1, 8)])
    refresh_dirty_days()

    feature = team_what_changed(team=team, start=date(2026, 11, 1), end=date(2026, 11, 19)).dimensions[1]

    assert [c.value for c in feature.contributions] == ["f7", "f6", "f5", "f4", "f3", None]
    assert (feature.contributions[-1].others, feature.contributions[-1].delta) == (2, Decimal("0.9"))
    assert feature.total == Decimal("8.4")


def test_a_rise_past_the_threshold_is_an_anomaly_and_one_alert(search_months, team):
    ChangeSettings.objects.create(threshold_percent=Decimal("100"), min_change=Decimal("5"))

    month_change_check(today=date(2026, 11, 20))
    month_change_check(today=date(2026, 11, 20))

    anomaly = Anomaly.objects.get(dimension="month_change")
    assert (anomaly.subject, anomaly.team, anomaly.day, anomaly.amount, anomaly.baseline) == (
        "search",
        team,
        date(2026, 11, 1),
        Decimal("13.5"),
        Decimal("6"),
    )
    assert anomaly.explanation == (
        "search: $13.50 from 1 Nov to 19 Nov, +125.0% on the same days of the month before ($6.00); "
        "+$7.50 from model test-model, +$6.00 from customer globex, +$6.00 from feature deep-research."
    )
    assert Alert.objects.filter(anomaly=anomaly).count() == 1


def test_a_rise_within_the_threshold_or_with_it_blank_is_not(search_months):
    ChangeSettings.objects.create(threshold_percent=Decimal("130"), min_change=Decimal("5"))
    assert month_change_check(today=date(2026, 11, 20)) == []
    ChangeSettings.objects.update(threshold_percent=None)
    assert month_change_check(today=date(2026, 11, 20)) == []
    assert not Anomaly.objects.exists()


def test_the_team_page_shows_what_changed_with_links_to_the_drilldowns(search_months, lead, as_user):
    page = as_user(lead).get("/teams/search/").content.decode()

    assert 'data-testid="changed-by">+$7.50</strong> (+125.0%)' in page
    link = '<a href="?start=2026-11-01&amp;end=2026-11-20&amp;feature=deep-research">deep-research</a>'
    assert link in page


def test_the_drilldown_has_a_daily_trend_and_the_same_comparison(search_months, lead, as_user):
    page = as_user(lead).get("/teams/search/?start=2026-11-01&end=2026-11-20&feature=deep-research").content.decode()

    assert 'id="daily-trend"' in page
    assert 'data-testid="changed-by">+$6.00</strong> (+200.0%)' in page
    assert 'id="changed-feature"' not in page  # the drill-down's own filter is not split again
    assert 'id="changed-customer"' in page


def test_a_rise_smaller_than_the_minimum_in_dollars_is_not(search_months):
    ChangeSettings.objects.create(threshold_percent=Decimal("20"), min_change=Decimal("7.51"))

    assert month_change_check(today=date(2026, 11, 20)) == []
