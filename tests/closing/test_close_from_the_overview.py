"""Finance closes a month from the overview: checklist, confirmation, then the status on every page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.closing.models import MonthClose, MonthReopening
from apps.usage.models import ClosedMonth

pytestmark = pytest.mark.django_db

CLOSE = "/overview/close/"


def test_finance_sees_the_checklist_and_a_confirmation_naming_the_month_and_its_total(bills, finance, as_user):
    page = as_user(finance).get(f"{CLOSE}?month={bills.closed:%Y-%m}").content.decode()

    assert '<span class="tag ok">clear</span> Providers without a bill: none' in page
    assert "Nothing is open: the month is ready to close." in page
    assert (
        f'Close <strong>{bills.closed:%B %Y}</strong> at <strong class="money" data-testid="close-total">$0.00</strong>'
        in page
    )


def test_only_finance_and_admins_may_close(bills, lead, as_user):
    client = as_user(lead)

    assert client.get(f"{CLOSE}?month={bills.closed:%Y-%m}").status_code == 403
    response = client.post(CLOSE, {"month": f"{bills.closed:%Y-%m}", "confirm": f"{bills.closed:%Y-%m}"})
    assert response.status_code == 403
    assert not ClosedMonth.objects.exists()


@pytest.mark.parametrize(
    ("month", "message"),
    [("2026-10-01", "month: give a month that has ended, as YYYY-MM."), ("running", "has not ended yet")],
)
def test_a_month_that_cannot_close_gets_a_clear_error(db, finance, as_user, month, message):
    if month == "running":
        month = f"{timezone.now():%Y-%m}"

    response = as_user(finance).get(f"{CLOSE}?month={month}")

    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_close_needs_its_confirmation(bills, finance, as_user):
    response = as_user(finance).post(CLOSE, {"month": f"{bills.closed:%Y-%m}"})

    assert response.status_code == 400
    assert "Confirm the month to close." in response.content.decode()
    assert not ClosedMonth.objects.exists()


def test_a_confirmed_close_shows_on_the_overview_and_the_team_page(bills, finance, lead, as_user):
    key = f"{bills.closed:%Y-%m}"
    client = as_user(finance)

    response = client.post(CLOSE, {"month": key, "confirm": key})

    assert response.status_code == 302
    assert response["Location"] == f"/overview/?month={key}"
    close = MonthClose.objects.get()
    assert (close.closed_by, close.via, close.total) == (finance, "page", Decimal("0.004500000"))
    overview = client.get(response["Location"]).content.decode()
    assert f"Closed {bills.closed:%B %Y} at $0.00." in overview
    when = f"{timezone.localtime(close.closed_at):%-d %b %Y, %H:%M}"
    status = f'{bills.closed:%B %Y} closed by finance on {when} UTC at <span class="money">$0.00</span>.'
    assert status in overview
    assert status in as_user(lead).get(f"/teams/search/?month={key}").content.decode()
    assert f"{bills.open:%B %Y} is open." in client.get(f"/teams/search/?month={bills.open:%Y-%m}").content.decode()


def test_open_items_stop_the_close_until_forced_with_a_reason(ledger, finance, as_user):
    key = f"{ledger.closed:%Y-%m}"
    client = as_user(finance)
    page = client.get(f"{CLOSE}?month={key}").content.decode()
    assert "<strong>Providers without a bill</strong>: no bill pulled or imported for anthropic" in page

    refused = client.post(CLOSE, {"month": key, "confirm": key})
    no_reason = client.post(CLOSE, {"month": key, "confirm": key, "force": "on"})

    assert refused.status_code == 409
    assert f"{key} has open items: Providers without a bill" in refused.content.decode()
    assert no_reason.status_code == 400
    assert "Give the reason the month closes with open items." in no_reason.content.decode()
    assert not ClosedMonth.objects.exists()

    forced = client.post(CLOSE, {"month": key, "confirm": key, "force": "on", "reason": "Invoice due next week"})

    assert forced.status_code == 302
    close = MonthClose.objects.get()
    assert (close.forced, close.reason) == (True, "Invoice due next week")
    assert "forced past open items" in client.get(forced["Location"]).content.decode()


def test_closing_a_closed_month_says_so(closed_ledger, finance, as_user):
    key = f"{closed_ledger.closed:%Y-%m}"

    response = as_user(finance).post(CLOSE, {"month": key, "confirm": key})

    assert response.status_code == 409
    assert f"{key} is already closed on " in response.content.decode()
    assert ClosedMonth.objects.count() == 1


def test_reopening_needs_a_reason_and_is_recorded(closed_ledger, finance, as_user):
    key = f"{closed_ledger.closed:%Y-%m}"
    client = as_user(finance)
    assert "Reason (required)" in client.get(f"{CLOSE}?month={key}").content.decode()

    refused = client.post("/overview/reopen/", {"month": key, "reason": ""})
    reopened = client.post("/overview/reopen/", {"month": key, "reason": "Credit note"})

    assert refused.status_code == 400
    assert "Give the reason the month is reopened." in refused.content.decode()
    assert reopened.status_code == 302
    assert not ClosedMonth.objects.exists()
    assert MonthReopening.objects.get().reopened_by == finance
    assert (
        f"{closed_ledger.closed:%B %Y} is open: reopened (Credit note)."
        in client.get(reopened["Location"]).content.decode()
    )
