"""Months close themselves the admin-set number of days after they end; never while it is unset."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from apps.closing.models import CloseSettings, MonthClose, MonthReopening
from apps.closing.services import months_auto_close, months_reopen
from apps.closing.tasks import close_due_months
from apps.usage.models import ClosedMonth

pytestmark = pytest.mark.django_db


def _closed() -> list:
    return list(ClosedMonth.objects.order_by("month").values_list("month", flat=True))


def test_no_month_closes_itself_while_the_delay_is_unset(ledger):
    assert months_auto_close(today=timezone.now().date()) == []
    assert _closed() == []


def test_a_month_closes_once_the_set_days_have_passed_since_it_ended(bills):
    ledger = bills
    CloseSettings.objects.create(auto_close_after_days=5)
    open_month_end = ledger.open.replace(day=28) + timedelta(days=4)
    open_month_end -= timedelta(days=open_month_end.day)

    assert months_auto_close(today=open_month_end + timedelta(days=5)) == [ledger.closed]
    assert months_auto_close(today=open_month_end + timedelta(days=6)) == [ledger.open]
    assert _closed() == [ledger.closed, ledger.open]


def test_the_daily_task_closes_the_due_months(bills):
    ledger = bills
    CloseSettings.objects.create(auto_close_after_days=1)

    closed = close_due_months.delay().get()

    assert closed[0] == f"{ledger.closed:%Y-%m}"
    assert _closed()[0] == ledger.closed
    assert settings.CELERY_BEAT_SCHEDULE["close-due-months"] == {
        "task": "closing.close_due_months",
        "schedule": 86400,
    }


def test_a_reopened_month_closes_itself_again_with_its_new_totals(closed_ledger, bills, admin_user):
    CloseSettings.objects.create(auto_close_after_days=1)
    months_reopen(months=[closed_ledger.closed], by=admin_user, reason="Check", change="nothing")

    months_auto_close(today=timezone.now().date())

    assert closed_ledger.closed in _closed()
    reopening = MonthReopening.objects.get()
    assert (reopening.billed_before, reopening.billed_after) == (Decimal("0.004500000"), Decimal("0.004500000"))


def test_a_month_with_open_items_stays_open_for_finance(ledger):
    CloseSettings.objects.create(auto_close_after_days=1)  # the ledger has no bill: an open item

    assert months_auto_close(today=timezone.now().date()) == []
    assert _closed() == []
    assert not MonthClose.objects.exists()


def test_an_automatic_close_is_recorded_without_anyone(bills):
    CloseSettings.objects.create(auto_close_after_days=1)

    months_auto_close(today=timezone.now().date())

    record = MonthClose.objects.get(month=bills.closed)
    assert (record.via, record.closed_by, record.total, record.forced) == ("auto", None, Decimal("0.004500000"), False)
