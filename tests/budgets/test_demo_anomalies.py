"""The demo company's planted anomalies (a runaway agent, a dev backfill left running) are detected and explained."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from apps.budgets.detection import anomalies_detect_daily, anomalies_detect_hourly
from apps.budgets.models import Anomaly
from apps.showback.demo import demo_company_build
from apps.showback.demo.company import LEFT_RUNNING_FEATURE, LEFT_RUNNING_HOURS, RUNAWAY_AGENT, RUNAWAY_HOURS
from attribution_site import snapshots

pytestmark = pytest.mark.django_db

# 28 days of baseline before the backfill's 10 days, and a few to spare.
DAYS = 40
# The smallest scale at which the default rules see both: the backfill spends about $30 a day
# here, but at 0.35 only about $19, under ANOMALY_MIN_INCREASE ($20); the runaway is far above.
SCALE = 0.5
MONEY = r"\$[\d,]+\.\d\d"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One build for the whole module (it takes seconds), rolled back at the end of the module;
    each test runs inside it in a savepoint of its own."""
    with django_db_blocker.unblock(), transaction.atomic():
        snapshots.invalidate_all()
        now = timezone.now()
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            demo_company_build(days=DAYS, scale=SCALE, now=now)
        # The build's own spend check has found some already; each test runs the detection itself.
        Anomaly.objects.all().delete()
        last_hour = now.replace(minute=0, second=0, microsecond=0)
        yield {
            "now": now,
            "yesterday": now.date() - timedelta(days=1),
            "last_complete_hour": last_hour - timedelta(hours=1),
            "runaway_start": last_hour - timedelta(hours=RUNAWAY_HOURS),
            "backfill_start": last_hour - timedelta(hours=LEFT_RUNNING_HOURS),
        }
        transaction.set_rollback(True)
    snapshots.invalidate_all()


def _daily(subject: str, day) -> Anomaly:
    return Anomaly.objects.get(subject=subject, period=day.isoformat())


def test_the_runaway_agent_is_flagged_on_a_whole_day_of_its_loop(demo):
    anomalies_detect_daily(day=demo["yesterday"])

    anomaly = _daily(RUNAWAY_AGENT, demo["yesterday"])
    assert (anomaly.dimension, anomaly.team.slug) == ("agent", "insights")
    assert anomaly.amount > 10 * anomaly.baseline


def test_the_runaway_agents_explanation_names_opus_as_most_of_the_increase(demo):
    anomalies_detect_daily(day=demo["yesterday"])

    anomaly = _daily(RUNAWAY_AGENT, demo["yesterday"])
    share = re.fullmatch(
        rf"agent `{RUNAWAY_AGENT}` in production: {MONEY} on {demo['yesterday']:%d %b} vs {MONEY} typical; "
        r"(\d+)% of the increase from model claude-opus-4-1",
        anomaly.explanation,
    )
    assert share is not None, anomaly.explanation
    assert int(share.group(1)) >= 90


def test_the_runaway_agents_loop_is_traced_to_its_one_customer(demo):
    anomalies_detect_daily(day=demo["yesterday"])

    customers = [d for d in _daily(RUNAWAY_AGENT, demo["yesterday"]).drivers if d["dimension"] == "customer"]
    assert customers[0]["value"] == "acct-1003"
    assert Decimal(customers[0]["share"]) >= Decimal("0.9")


def test_the_runaway_agent_is_flagged_hour_by_hour_inside_its_loop_only(demo):
    hour = demo["runaway_start"] - timedelta(hours=24)
    while hour <= demo["last_complete_hour"]:
        anomalies_detect_hourly(hour=hour)
        hour += timedelta(hours=1)

    flagged = Anomaly.objects.filter(subject=RUNAWAY_AGENT, hour__isnull=False)
    first = min(datetime.combine(a.day, time(a.hour), tzinfo=UTC) for a in flagged)
    assert first >= demo["runaway_start"]
    last = flagged.get(period=f"{demo['last_complete_hour']:%Y-%m-%dT%H}")
    assert "of the increase from model claude-opus-4-1" in last.explanation


def test_the_left_running_backfill_is_flagged_on_every_whole_day_it_ran(demo):
    whole_days = [
        demo["backfill_start"].date() + timedelta(days=i)
        for i in range(1, (demo["yesterday"] - demo["backfill_start"].date()).days + 1)
    ]
    for day in whole_days:
        anomalies_detect_daily(day=day)

    for day in whole_days:
        anomaly = _daily(LEFT_RUNNING_FEATURE, day)
        assert (anomaly.dimension, anomaly.team.slug, anomaly.baseline) == ("feature", "growth", Decimal(0))
        assert re.fullmatch(
            rf"feature `{LEFT_RUNNING_FEATURE}` in development: {MONEY} on {day:%d %b} vs \$0\.00 typical; "
            r"100% of the increase from model claude-sonnet-4-5",
            anomaly.explanation,
        ), anomaly.explanation


def test_the_development_environment_is_flagged_with_the_backfill_as_its_driver(demo):
    anomalies_detect_daily(day=demo["yesterday"])

    anomaly = _daily("development", demo["yesterday"])
    features = [d for d in anomaly.drivers if d["dimension"] == "feature"]
    assert anomaly.dimension == "environment"
    assert features[0]["value"] == LEFT_RUNNING_FEATURE
    assert Decimal(features[0]["share"]) >= Decimal("0.9")
    assert anomaly.explanation.endswith("of the increase from model claude-sonnet-4-5")
