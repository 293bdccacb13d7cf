"""Fixtures of the month-close tests: two past months of known spend, the older one closed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.utils import timezone

from apps.billing.models import BillingLine
from apps.closing.selectors import month_totals
from apps.closing.services import month_close
from apps.usage.models import UsageEvent
from tests.browser import browser_page  # noqa: F401  (a fixture of the browser tests)
from tests.rollups.events import event, ingest, refresh_dirty_days


class Months(NamedTuple):
    closed: date  # first day of the month before last
    closed_day: date
    open: date  # first day of last month
    open_day: date


@pytest.fixture(autouse=True)
def refresh_explicitly(settings):
    # Broker runs refresh in beat, eager runs inline on ingest: off here, so both runs behave alike.
    settings.ROLLUP_REFRESH_ON_INGEST = False


@pytest.fixture
def months() -> Months:
    open_month = (timezone.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    closed = (open_month - timedelta(days=1)).replace(day=1)
    return Months(
        closed=closed, closed_day=closed.replace(day=15), open=open_month, open_day=open_month.replace(day=15)
    )


@pytest.fixture
def ledger(api_key, price, team, months) -> Months:
    """search spent $0.0045 (1,000 in, 100 out of test-model) in each of the two months; refreshed."""
    ingest(api_key, event(day=months.closed_day, team="search"), event(day=months.open_day, team="search"))
    refresh_dirty_days()
    return months


@pytest.fixture
def bills(ledger) -> Months:
    """The ledger's two months, each with anthropic's bill for its day: the checklist's bill item
    is clear (the days are not rebuilt, so nothing is reconciled against it)."""
    for day in (ledger.closed_day, ledger.open_day):
        BillingLine.objects.create(
            source=BillingLine.Source.FOCUS,
            provider="anthropic",
            day=day,
            billed_cost=Decimal("0.0045"),
            effective_cost=Decimal("0.0045"),
        )
    return ledger


@pytest.fixture
def closed_ledger(ledger) -> Months:
    """The ledger with the older month closed."""
    month_close(month=ledger.closed, today=timezone.now().date())
    return ledger


def billed(month: date) -> Decimal:
    return month_totals(month).billed


def event_costs(day: date) -> list[Decimal]:
    return list(UsageEvent.objects.filter(day=day).order_by("id").values_list("billed_cost", flat=True))
