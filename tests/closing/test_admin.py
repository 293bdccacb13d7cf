"""The admin closes a month, lists closed months and reopenings with their totals, and sets the auto-close delay."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.closing.models import CloseSettings, MonthReopening
from apps.closing.services import months_reopen
from apps.usage.models import ClosedMonth

pytestmark = pytest.mark.django_db


def test_adding_a_closed_month_closes_it_as_the_admin(ledger, admin_client, admin_user):
    response = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": f"{ledger.closed:%Y-%m}"})

    assert response.status_code == 302, response.content.decode()
    closed = ClosedMonth.objects.get()
    assert (closed.month, closed.closed_by) == (ledger.closed, admin_user)
    page = admin_client.get("/admin/usage/closedmonth/").content.decode()
    assert f"{ledger.closed:%Y-%m}" in page
    assert "0.004500000" in page


def test_the_running_month_cannot_be_closed(db, admin_client):
    response = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": f"{timezone.now():%Y-%m}"})

    assert response.status_code == 200
    assert "has not ended yet" in response.content.decode()
    assert not ClosedMonth.objects.exists()


def test_a_closed_month_cannot_be_deleted_from_the_admin(closed_ledger, admin_client):
    closed = ClosedMonth.objects.get()

    response = admin_client.post(f"/admin/usage/closedmonth/{closed.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert ClosedMonth.objects.filter(pk=closed.pk).exists()


def test_reopenings_show_who_why_and_the_totals_and_can_be_closed_again(closed_ledger, admin_client, admin_user):
    months_reopen(months=[closed_ledger.closed], by=admin_user, reason="Wrong list price", change="price edit")

    page = admin_client.get("/admin/closing/monthreopening/").content.decode()
    assert "Wrong list price" in page
    assert "0.004500000 (open)" in page

    reopening = MonthReopening.objects.get()
    response = admin_client.post(
        "/admin/closing/monthreopening/", {"action": "close_again", "_selected_action": [reopening.pk]}
    )

    assert response.status_code == 302
    assert ClosedMonth.objects.get().month == closed_ledger.closed
    reopening.refresh_from_db()
    assert (reopening.billed_after, reopening.allocated_after) == (Decimal("0.004500000"), Decimal("0E-9"))


def test_the_auto_close_delay_is_one_setting(db, admin_client):
    response = admin_client.post("/admin/closing/closesettings/add/", {"auto_close_after_days": "5"})

    assert response.status_code == 302
    assert CloseSettings.objects.get().auto_close_after_days == 5
    assert admin_client.get("/admin/closing/closesettings/add/").status_code == 403
