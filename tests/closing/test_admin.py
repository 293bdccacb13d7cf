"""The admin closes a month, lists closed months and reopenings with their totals, and sets the auto-close delay."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.closing.models import CloseSettings, MonthClose, MonthReopening
from apps.closing.services import months_reopen
from apps.usage.models import ClosedMonth

pytestmark = pytest.mark.django_db


def test_adding_a_closed_month_closes_it_as_the_admin(bills, admin_client, admin_user):
    response = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": f"{bills.closed:%Y-%m}"})

    assert response.status_code == 302, response.content.decode()
    closed = ClosedMonth.objects.get()
    assert (closed.month, closed.closed_by) == (bills.closed, admin_user)
    record = MonthClose.objects.get()
    assert (record.via, record.total, record.forced) == ("admin", Decimal("0.004500000"), False)
    page = admin_client.get("/admin/usage/closedmonth/").content.decode()
    assert f"{bills.closed:%Y-%m}" in page
    assert "0.004500000" in page


def test_a_full_date_is_refused_not_cut_to_its_month(bills, admin_client):
    typed = f"{bills.closed:%Y-%m}-01"

    response = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": typed})

    assert response.status_code == 200
    page = response.content.decode()
    assert f"month &#x27;{typed}&#x27; is not a month: use YYYY-MM." in page
    assert 'maxlength="7"' not in page
    assert not ClosedMonth.objects.exists()


def test_open_items_stop_the_admin_close_until_forced_with_a_reason(ledger, admin_client, admin_user):
    month = f"{ledger.closed:%Y-%m}"

    refused = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": month})
    no_reason = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": month, "force": "on"})

    assert refused.status_code == no_reason.status_code == 200
    assert "Providers without a bill: no bill pulled or imported for anthropic ($0.00 recorded)" in (
        refused.content.decode()
    )
    assert "Give the reason the month closes with open items." in no_reason.content.decode()
    assert not ClosedMonth.objects.exists()

    forced = admin_client.post(
        "/admin/usage/closedmonth/add/", {"close_month": month, "force": "on", "reason": "Bill arrives late"}
    )

    assert forced.status_code == 302
    record = MonthClose.objects.get()
    assert (record.forced, record.reason, record.closed_by, record.via) == (
        True,
        "Bill arrives late",
        admin_user,
        "admin",
    )
    assert record.open_items == "Providers without a bill: no bill pulled or imported for anthropic ($0.00 recorded)"


def test_closing_a_closed_month_in_the_admin_says_so(closed_ledger, admin_client):
    response = admin_client.post("/admin/usage/closedmonth/add/", {"close_month": f"{closed_ledger.closed:%Y-%m}"})

    assert response.status_code == 200
    assert f"{closed_ledger.closed:%Y-%m} is already closed on " in response.content.decode()


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


def test_reopenings_show_who_why_and_the_totals_and_can_be_closed_again(closed_ledger, bills, admin_client, admin_user):
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
