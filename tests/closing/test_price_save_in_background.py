"""A price saved in the admin answers at once: its re-rating runs apart, with a progress line on the
price's page, which lists the months a save re-prices before it is made."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import TestCase

from apps.closing.changes import price_change
from apps.usage.models import RerateRun
from apps.usage.tasks import rerate, rerate_pending
from tests.rollups.events import refresh_dirty_days

from .conftest import event_costs

pytestmark = pytest.mark.django_db


def _edit(price) -> RerateRun:
    price.input_per_mtok = Decimal("6")
    price.save()
    with TestCase.captureOnCommitCallbacks(execute=True):
        return price_change(price=price)


def test_the_price_page_lists_the_months_a_save_re_prices_open_and_closed(closed_ledger, price, admin_client):
    page = admin_client.get(f"/admin/pricing/modelprice/{price.pk}/change/").content.decode()

    assert f"Saving re-prices: {closed_ledger.open:%b %Y} (open)." in page
    assert f"Closed, re-priced only with “rewrite closed months” ticked: {closed_ledger.closed:%b %Y}." in page


def test_in_process_the_save_leaves_its_run_to_the_periodic_pick_up(settings, closed_ledger, price, admin_client):
    settings.RERATE_IN_PERIODIC = True

    run = _edit(price)

    run.refresh_from_db()
    assert run.status == RerateRun.Status.PENDING
    assert event_costs(closed_ledger.open_day) == [Decimal("0.004500000")]  # not re-priced yet
    page = admin_client.get(f"/admin/pricing/modelprice/{price.pk}/change/").content.decode()
    assert "Re-rating anthropic/test-model from " in page and ": queued." in page

    assert rerate_pending() == 1
    refresh_dirty_days()

    run.refresh_from_db()
    # the closed month's event is not among those checked
    assert (run.status, run.events_total, run.events_checked, run.events_changed) == ("done", 1, 1, 1)
    assert event_costs(closed_ledger.open_day) == [Decimal("0.007500000")]
    page = admin_client.get(f"/admin/pricing/modelprice/{price.pk}/change/").content.decode()
    assert ": 1 of 1 event(s) checked, 1 re-priced, done." in page


def test_a_run_is_claimed_once(closed_ledger, price):
    run = _edit(price)  # queued on commit, and run there (eager)

    assert rerate(run.pk) == 0
    assert rerate_pending() == 0
    run.refresh_from_db()
    assert run.status == RerateRun.Status.DONE
