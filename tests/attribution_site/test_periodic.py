"""The embedded default runs beat's schedule in-process: a spend check raises its alert under `make run`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.budgets.models import Alert
from attribution_site.periodic import PeriodicRunner
from tests.budgets.spend import Spend, prices_create, today_start
from tests.factories import BudgetFactory, ProductFactory

SCHEDULE = {
    "every-minute": {"task": "allocation.refresh_dirty_days", "schedule": 60},
    "hourly": {"task": "allocation.allocate_recent_days", "schedule": timedelta(hours=1)},
    "nightly": {"task": "budgets.check_spend", "schedule": crontab(hour=3, minute=0)},
}


def test_interval_entries_run_at_once_then_each_interval():
    start = timezone.now()
    runner = PeriodicRunner(SCHEDULE, now=start)
    assert runner.due(now=start) == ["every-minute", "hourly"]
    runner.last_run.update({"every-minute": start, "hourly": start})
    assert runner.due(now=start + timedelta(seconds=59)) == []
    assert runner.due(now=start + timedelta(seconds=60)) == ["every-minute"]
    assert runner.due(now=start + timedelta(hours=1)) == ["every-minute", "hourly"]


@pytest.mark.django_db
def test_run_periodic_raises_the_alert_of_a_product_past_its_budget(team, lead, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: no broker, no worker, no beat
    prices_create()
    answers = ProductFactory(slug="answers", team=team)
    BudgetFactory(team=team, product=answers, monthly_amount=Decimal("10.00"))
    spend = Spend()
    spend.add(today_start(), "15", team=team, product="answers")
    spend.flush()
    out = StringIO()

    call_command("run_periodic", "--once", stdout=out)

    assert "check-spend" in out.getvalue()
    alert = Alert.objects.get(kind=Alert.Kind.THRESHOLD)
    assert (alert.subject, alert.period) == ("product:answers", f"{timezone.now():%Y-%m}@100%")


def test_run_periodic_refuses_to_run_beside_a_broker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with pytest.raises(CommandError, match="A broker is configured"):
        call_command("run_periodic", "--once")
