"""Finding anomalies in the rollups (daily) and in raw events (hourly runaways), with their drivers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.budgets.detection import RUNAWAY_MIN_HOURS, anomalies_detect_daily, anomalies_detect_hourly
from apps.budgets.models import Anomaly

from .spend import noon, today_start

pytestmark = pytest.mark.django_db


def _agent(anomalies: list[Anomaly], subject: str) -> Anomaly:
    return next(a for a in anomalies if a.dimension == "agent" and a.subject == subject)


def test_an_agents_spike_today_is_flagged_against_its_median_day(runaway_agent):
    anomaly = _agent(anomalies_detect_daily(day=runaway_agent), "research-bot")

    assert (anomaly.amount, anomaly.baseline) == (Decimal("360.000000000"), Decimal("36.000000000"))
    assert (anomaly.day, anomaly.hour, anomaly.period) == (runaway_agent, None, runaway_agent.isoformat())


def test_the_explanation_names_the_model_behind_most_of_the_increase(runaway_agent):
    anomaly = _agent(anomalies_detect_daily(day=runaway_agent), "research-bot")

    # Opus grew $300 of the $324 increase: 92.6%.
    assert anomaly.explanation == (
        f"agent `research-bot` in production: $360.00 on {runaway_agent:%d %b} vs $36.00 typical; "
        "93% of the increase from model claude-opus-4-1"
    )


def test_the_drivers_record_each_models_delta_and_share(runaway_agent):
    anomaly = _agent(anomalies_detect_daily(day=runaway_agent), "research-bot")

    models = {d["value"]: d for d in anomaly.drivers if d["dimension"] == "model"}
    assert Decimal(models["claude-opus-4-1"]["delta"]) == Decimal("300")
    assert Decimal(models["claude-opus-4-1"]["share"]).quantize(Decimal("0.0001")) == Decimal("0.9259")
    assert Decimal(models["claude-haiku-4-5"]["delta"]) == Decimal("24")


def test_the_anomaly_belongs_to_the_team_that_spent_it(runaway_agent, team):
    anomaly = _agent(anomalies_detect_daily(day=runaway_agent), "research-bot")

    assert anomaly.team == team


def test_the_teams_own_spike_is_flagged_too(runaway_agent, team):
    anomalies = anomalies_detect_daily(day=runaway_agent)

    flagged = next(a for a in anomalies if a.dimension == "team")
    assert (flagged.subject, flagged.team, flagged.amount) == ("search", team, Decimal("396.000000000"))


def test_an_agent_spending_as_usual_is_not_flagged(runaway_agent):
    anomalies = anomalies_detect_daily(day=runaway_agent)

    assert "steady-bot" not in {a.subject for a in anomalies if a.dimension == "agent"}


def test_running_the_detection_twice_records_each_anomaly_once(runaway_agent):
    first = anomalies_detect_daily(day=runaway_agent)
    second = anomalies_detect_daily(day=runaway_agent)

    assert sorted(a.pk for a in first) == sorted(a.pk for a in second)
    assert Anomaly.objects.count() == len(first)


def test_an_environments_spike_goes_to_the_team_that_caused_it_not_the_largest_spender(spend, team, other_team):
    # search spends $100 a day in production, billing $1; today billing adds $60.
    today = timezone.now().date()
    for days_ago in range(0, 29):
        spend.add(noon(today - timedelta(days=days_ago)) if days_ago else today_start(), "100", team=team)
        spend.add(noon(today - timedelta(days=days_ago)) if days_ago else today_start(), "1", team=other_team)
    spend.add(today_start(), "60", team=other_team)
    spend.flush()

    anomaly = next(a for a in anomalies_detect_daily(day=today) if a.dimension == "environment")

    assert (anomaly.subject, anomaly.team) == ("production", other_team)
    teams = [d for d in anomaly.drivers if d["dimension"] == "team"]
    assert (teams[0]["value"], Decimal(teams[0]["share"])) == ("billing", Decimal(1))


def test_a_cheap_agent_quintupling_its_spend_is_not_flagged(spend, team):
    today = timezone.now().date()
    for days_ago in range(1, 29):
        spend.add(noon(today - timedelta(days=days_ago)), "0.03", team=team, agent="tiny-bot")
    spend.add(today_start(), "0.15", team=team, agent="tiny-bot")
    spend.flush()

    assert anomalies_detect_daily(day=today) == []


def _hourly_spend(spend, team, *, hour, spike_hours: int):
    """crawler spends $0.30 an hour for a week, then $15.30 ($15 on Opus) in each of the
    `spike_hours` hours up to `hour`; lister spends $4.20 in those hours (up $3.90)."""
    spikes = {hour - timedelta(hours=i) for i in range(spike_hours)}
    for hours_before in range(7 * 24 + 1):
        at = hour - timedelta(hours=hours_before)
        if at in spikes:
            spend.add(at + timedelta(minutes=5), "0.30", team=team, agent="crawler")
            spend.add(at + timedelta(minutes=6), "15", team=team, agent="crawler", model="claude-opus-4-1")
            spend.add(at + timedelta(minutes=7), "4.20", team=team, agent="lister")
        else:
            spend.add(at + timedelta(minutes=30), "0.30", team=team, agent="crawler")
            spend.add(at + timedelta(minutes=30), "0.30", team=team, agent="lister")
    spend.add(hour + timedelta(minutes=8), "510", team=team)  # no agent: not a runaway candidate
    spend.flush()


def _two_days_ago() -> datetime:
    """An hour that is complete whenever the test runs."""
    return timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)


@pytest.fixture
def runaway_hour(spend, team):
    hour = _two_days_ago()
    _hourly_spend(spend, team, hour=hour, spike_hours=RUNAWAY_MIN_HOURS)
    return hour


def test_a_runaway_hour_is_flagged_from_the_raw_events(runaway_hour, team):
    [anomaly] = anomalies_detect_hourly(hour=runaway_hour)

    assert (anomaly.dimension, anomaly.subject, anomaly.team) == ("agent", "crawler", team)
    assert (anomaly.amount, anomaly.baseline) == (Decimal("15.300000000"), Decimal("0.300000000"))
    assert (anomaly.day, anomaly.hour) == (runaway_hour.date(), runaway_hour.hour)
    assert anomaly.period == f"{runaway_hour:%Y-%m-%dT%H}"


def test_a_runaway_hours_explanation_names_the_hour_and_the_model(runaway_hour):
    [anomaly] = anomalies_detect_hourly(hour=runaway_hour)

    # The week before holds the loop's first two hours: Opus is $30 of its $80.40, so a typical
    # $0.30 hour has $0.11 of Opus in its mix, and Opus's $14.89 rise is 99% of the $15 increase.
    assert anomaly.explanation == (
        f"agent `crawler` in production: $15.30 in the hour from {runaway_hour:%d %b %H}:00 UTC vs $0.30 typical; "
        "99% of the increase from model claude-opus-4-1"
    )


def test_one_expensive_hour_is_a_burst_not_a_runaway(spend, team):
    hour = _two_days_ago()
    _hourly_spend(spend, team, hour=hour, spike_hours=RUNAWAY_MIN_HOURS - 1)

    assert anomalies_detect_hourly(hour=hour) == []


def test_an_hour_below_the_hourly_minimum_increase_is_not_a_runaway(runaway_hour):
    anomalies = anomalies_detect_hourly(hour=runaway_hour)

    assert "lister" not in {a.subject for a in anomalies}


def test_the_hourly_and_daily_anomalies_of_one_agent_are_kept_apart(runaway_hour):
    anomalies_detect_hourly(hour=runaway_hour)
    anomalies_detect_hourly(hour=runaway_hour)

    assert Anomaly.objects.filter(subject="crawler").count() == 1
    assert Anomaly.objects.get(subject="crawler").period != runaway_hour.date().isoformat()


def test_a_workload_running_for_days_still_owns_its_whole_increase(spend, team):
    # Five days in, the 28-day median is still $0 but the mean holds $225 / 28: drivers are
    # measured from the median day too, so Opus is 100% of the increase, not 82%.
    today = timezone.now().date()
    for days_ago in range(1, 30):  # an installation weeks old: other spend since a month ago
        spend.add(noon(today - timedelta(days=days_ago)), "1", team=team, agent="steady-bot")
    for days_ago in range(0, 6):
        at = today_start() if days_ago == 0 else noon(today - timedelta(days=days_ago))
        spend.add(at, "45", team=team, agent="backfill-bot", model="claude-opus-4-1")
    spend.flush()

    anomaly = _agent(anomalies_detect_daily(day=today), "backfill-bot")

    assert anomaly.explanation == (
        f"agent `backfill-bot` in production: $45.00 on {today:%d %b} vs $0.00 typical; "
        "100% of the increase from model claude-opus-4-1"
    )


def test_an_installation_in_its_first_week_has_no_history_to_flag_against(spend, team):
    today = timezone.now().date()
    for days_ago in range(1, 5):
        spend.add(noon(today - timedelta(days=days_ago)), "1", team=team, agent="new-bot")
    spend.add(today_start(), "90", team=team, agent="new-bot", model="claude-opus-4-1")
    spend.flush()

    assert anomalies_detect_daily(day=today) == []
