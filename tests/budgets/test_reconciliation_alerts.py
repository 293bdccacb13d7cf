"""A provider bill that differs from recorded spend beyond the threshold raises an anomaly and an alert."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.billing.models import BillingLine, ReconciliationSettings
from apps.budgets.models import Alert, Anomaly
from apps.budgets.services import spend_check
from apps.rollups.services import day_rebuild
from tests.factories import ApiKeyFactory, UsageEventFactory

DAY = date(2026, 10, 2)
NOW = datetime(2026, 10, 5, 8, tzinfo=UTC)


@pytest.fixture
def billed_day(team, finance):
    finance.email = "finance@example.com"
    finance.save()
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(2026, 10, 2, 9, tzinfo=UTC),
        team=team,
        billed_cost=Decimal("100"),
        list_cost=Decimal("100"),
    )
    BillingLine.objects.create(
        source="api",
        provider="openai",
        day=DAY,
        scope="proj_x",
        billed_cost=Decimal("103"),
        effective_cost=Decimal("103"),
    )
    UsageEventFactory(
        api_key=ApiKeyFactory(team=team),
        timestamp=datetime(2026, 10, 2, 9, tzinfo=UTC),
        provider="openai",
        team=team,
        billed_cost=Decimal("100"),
        list_cost=Decimal("100"),
    )
    day_rebuild(day=DAY)


def test_a_difference_above_two_percent_raises_one_anomaly_and_alert_naming_it(billed_day):
    spend_check(now=NOW)
    spend_check(now=NOW)

    anomaly = Anomaly.objects.get(dimension="reconciliation")
    assert (anomaly.subject, anomaly.day, anomaly.amount) == ("openai:unmapped", DAY, Decimal("3.000000000"))
    assert anomaly.explanation == (
        "openai on 2026-10-02, scope proj_x (no mapped team): billed $103.00, recorded "
        "$100.00: $3.00 billed that no event recorded (2.9% of the day's spend)."
    )
    assert [(d.dimension, d.value, d.delta, d.share) for d in anomaly.driver_list] == [
        ("scope", "proj_x", Decimal("3.000000000"), Decimal(1))
    ]
    alert = Alert.objects.get(subject="reconciliation:openai:unmapped")
    assert [d.target for d in alert.deliveries.all()] == ["finance@example.com"]


def test_a_difference_under_the_threshold_raises_nothing(billed_day):
    ReconciliationSettings.objects.create(threshold_percent=Decimal("3"))

    spend_check(now=NOW)

    assert not Anomaly.objects.filter(dimension="reconciliation").exists()
