"""Alerts raised once under concurrency: threads with their own PostgreSQL connections race to raise them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from apps.budgets.models import Alert, Delivery
from apps.budgets.services import alert_raise, spend_check
from tests.budgets.spend import Spend, noon, prices_create, today_start
from tests.factories import BudgetFactory

# serialized_rollback: keeps migration 0002's environments and tag policy for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 6


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ROLLUP_REFRESH_ON_INGEST = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def at_once(work: Callable[[], object], threads: int = THREADS) -> list:
    """Run `work` in `threads` threads released together, each on its own database connection."""
    start = threading.Barrier(threads)
    results: list = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    return results


def test_threads_raising_the_same_alert_at_once_create_one_alert_and_one_set_of_deliveries(team, lead):
    def raise_it():
        return alert_raise(
            kind=Alert.Kind.THRESHOLD,
            subject="team:search",
            period="2026-11@80%",
            team=team,
            message="Search has used 80% of its 2026-11 budget: $85.00 of $100.00.",
        )

    results = at_once(raise_it)

    [alert] = [r for r in results if r is not None]
    assert Alert.objects.count() == 1
    assert list(Delivery.objects.values_list("alert_id", "channel", "target")) == [(alert.pk, "email", lead.email)]


def test_a_real_worker_sends_the_one_delivery_of_a_contested_alert_once(team, lead, celery_worker_process):
    at_once(
        lambda: alert_raise(kind=Alert.Kind.FORECAST, subject="team:search", period="2026-11", team=team, message="!")
    )

    deadline = time.monotonic() + 30
    while Delivery.objects.exclude(status=Delivery.Status.SENT).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(Delivery.objects.values_list("status", "attempts")) == [(Delivery.Status.SENT, 1)]


@pytest.fixture
def over_budget_with_a_spike(team, lead):
    """A $100 budget with $85 spent today, $60 of it a runaway agent that spent $1 a day before."""
    prices_create()
    spend = Spend()
    today = timezone.now().date()
    for days_ago in range(1, 29):
        spend.add(noon(today - timedelta(days=days_ago)), "1", team=team, agent="research-bot")
    spend.add(today_start(), "60", team=team, agent="research-bot", model="claude-opus-4-1")
    spend.add(today_start(), "25", team=team)
    spend.flush()
    BudgetFactory(team=team, monthly_amount=Decimal("100.00"))
    return today


def test_concurrent_spend_checks_raise_each_alert_once(over_budget_with_a_spike, team):
    month = f"{over_budget_with_a_spike:%Y-%m}"

    results = at_once(lambda: spend_check())

    assert sum(len(raised) for raised in results) == Alert.objects.count()
    assert not Alert.objects.values("subject", "kind", "period").annotate(n=Count("id")).filter(n__gt=1).exists()
    # One alert naming the highest threshold crossed: 80% on the 1st of a month, 100% later in it.
    [threshold] = Alert.objects.filter(kind=Alert.Kind.THRESHOLD).values_list("period", flat=True)
    assert threshold in {f"{month}@80%", f"{month}@100%"}
    assert Alert.objects.filter(kind=Alert.Kind.ANOMALY, subject="agent:research-bot").count() == 1
    assert Delivery.objects.count() == Alert.objects.count()  # one lead, one email each
