"""Price, discount and model-alias edits re-rate open months only, unless closed months are rewritten."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone

from apps.closing.changes import alias_change, price_change
from apps.closing.models import MonthReopening
from apps.closing.services import month_close
from apps.pricing.models import ModelAlias
from apps.usage.models import ClosedMonth, RerateRun
from tests.factories import ModelAliasFactory, NegotiatedDiscountFactory
from tests.rollups.events import event, ingest, refresh_dirty_days

from .conftest import billed, event_costs

pytestmark = pytest.mark.django_db


def _committed(edit):
    with TestCase.captureOnCommitCallbacks(execute=True):  # re-rating runs once the edit commits
        result = edit()
    refresh_dirty_days()
    return result


def _price_edit(price, **options):
    price.input_per_mtok = Decimal("6")
    price.save()
    return price_change(price=price, **options)


def test_a_price_edit_re_rates_open_months_and_leaves_the_closed_one(closed_ledger, price):
    _committed(lambda: _price_edit(price))

    assert event_costs(closed_ledger.closed_day) == [Decimal("0.004500000")]
    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    assert event_costs(closed_ledger.open_day) == [Decimal("0.007500000")]
    assert billed(closed_ledger.open) == Decimal("0.007500000")


def test_a_price_edit_that_rewrites_closed_months_reopens_them_on_record(closed_ledger, price, admin_user):
    _committed(lambda: _price_edit(price, rewrite_closed_months=True, by=admin_user, reason="List price was wrong"))

    assert billed(closed_ledger.closed) == Decimal("0.007500000")
    assert not ClosedMonth.objects.exists()
    reopening = MonthReopening.objects.get()
    assert (reopening.month, reopening.reopened_by, reopening.reason) == (
        closed_ledger.closed,
        admin_user,
        "List price was wrong",
    )
    assert reopening.change.startswith("price anthropic/test-model")
    assert (reopening.billed_before, reopening.billed_after) == (Decimal("0.004500000"), None)

    month_close(month=closed_ledger.closed, today=timezone.now().date())

    reopening.refresh_from_db()
    assert reopening.billed_after == Decimal("0.007500000")


def test_a_price_edit_that_rewrites_closed_months_without_a_reason_is_refused(closed_ledger, price):
    with pytest.raises(ValidationError, match=r"Give the reason closed months are rewritten\."):
        _price_edit(price, rewrite_closed_months=True, reason=" ")

    assert ClosedMonth.objects.exists()


def test_a_plain_save_changes_the_row_only(closed_ledger, price):
    price.input_per_mtok = Decimal("6")

    _committed(price.save)

    assert not RerateRun.objects.exists()
    assert event_costs(closed_ledger.open_day) == [Decimal("0.004500000")]


def test_a_discount_re_rates_open_months_only(closed_ledger):
    _committed(lambda: price_change(price=NegotiatedDiscountFactory(percent_off=Decimal("10"))))

    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    assert billed(closed_ledger.open) == Decimal("0.004050000")


def _discount_form(**fields):
    return {
        "provider": "anthropic",
        "model": "",
        "percent_off": "10",
        "effective_from_0": "2020-01-01",
        "effective_from_1": "00:00:00",
        "note": "",
        **fields,
    }


def test_a_discount_added_in_the_admin_with_rewrite_ticked_re_rates_the_closed_month(
    closed_ledger, admin_client, admin_user
):
    form = _discount_form(rewrite_closed_months="on", rewrite_reason="Contract signed in the spring")

    response = _committed(lambda: admin_client.post("/admin/pricing/negotiateddiscount/add/", form))

    assert response.status_code == 302, response.content.decode()
    assert billed(closed_ledger.closed) == Decimal("0.004050000")
    assert billed(closed_ledger.open) == Decimal("0.004050000")
    reopening = MonthReopening.objects.get()
    assert (reopening.reopened_by, reopening.reason, reopening.billed_before) == (
        admin_user,
        "Contract signed in the spring",
        Decimal("0.004500000"),
    )


def test_the_admin_asks_for_the_reason_before_rewriting_closed_months(closed_ledger, admin_client):
    response = admin_client.post("/admin/pricing/negotiateddiscount/add/", _discount_form(rewrite_closed_months="on"))

    assert response.status_code == 200
    assert "Give the reason closed months are rewritten." in response.content.decode()
    assert billed(closed_ledger.closed) == Decimal("0.004500000")
    assert ClosedMonth.objects.exists()


def test_the_price_form_offers_to_rewrite_closed_months(admin_client, price):
    page = admin_client.get(f"/admin/pricing/modelprice/{price.pk}/change/").content.decode()

    assert 'name="rewrite_closed_months"' in page
    assert 'name="rewrite_reason"' in page


@pytest.fixture
def house_ledger(api_key, price, team, months):
    """An event of an unknown model name ($0, unpriced) in each month; the older month closed."""
    ingest(
        api_key,
        event(day=months.closed_day, team="search", model="house-model"),
        event(day=months.open_day, team="search", model="house-model"),
    )
    refresh_dirty_days()
    month_close(month=months.closed, today=timezone.now().date())
    return months


def test_an_alias_prices_the_open_months_events_only(house_ledger):
    _committed(lambda: alias_change(alias=ModelAliasFactory(alias="house-model")))

    assert billed(house_ledger.closed) == Decimal("0E-9")
    assert billed(house_ledger.open) == Decimal("0.004500000")


def test_an_alias_added_in_the_admin_with_rewrite_ticked_prices_the_closed_month_too(house_ledger, admin_client):
    form = {
        "provider": "anthropic",
        "alias": "house-model",
        "match": "exact",
        "model": "test-model",
        "rewrite_closed_months": "on",
        "rewrite_reason": "House name of test-model",
    }

    response = _committed(lambda: admin_client.post("/admin/pricing/modelalias/add/", form))

    assert response.status_code == 302, response.content.decode()
    assert ModelAlias.objects.count() == 1
    assert billed(house_ledger.closed) == Decimal("0.004500000")
    assert MonthReopening.objects.get().billed_before == Decimal("0E-9")


def _price_form(price, **fields):
    return {
        "provider": price.provider,
        "model": price.model,
        "effective_from_0": f"{price.effective_from:%Y-%m-%d}",
        "effective_from_1": f"{price.effective_from:%H:%M:%S}",
        "currency": price.currency,
        "source": price.source,
        "input_per_mtok": "6",
        "output_per_mtok": str(price.output_per_mtok),
        "cache_read_per_mtok": str(price.cache_read_per_mtok),
        "cache_write_per_mtok": str(price.cache_write_per_mtok),
        "cache_write_1h_per_mtok": str(price.cache_write_1h_per_mtok),
        "batch_discount_percent": str(price.batch_discount_percent),
        **fields,
    }


def test_a_price_edited_in_the_admin_leaves_closed_months_unless_asked(closed_ledger, price, admin_client):
    url = f"/admin/pricing/modelprice/{price.pk}/change/"

    response = _committed(lambda: admin_client.post(url, _price_form(price)))

    assert response.status_code == 302, response.content.decode()
    assert (billed(closed_ledger.closed), billed(closed_ledger.open)) == (
        Decimal("0.004500000"),
        Decimal("0.007500000"),
    )
    assert not MonthReopening.objects.exists()


def test_a_price_edited_in_the_admin_with_rewrite_ticked_re_rates_the_closed_month(
    closed_ledger, price, admin_client, admin_user
):
    url = f"/admin/pricing/modelprice/{price.pk}/change/"
    form = _price_form(price, rewrite_closed_months="on", rewrite_reason="Input price was mistyped")

    response = _committed(lambda: admin_client.post(url, form))

    assert response.status_code == 302, response.content.decode()
    assert billed(closed_ledger.closed) == Decimal("0.007500000")
    reopening = MonthReopening.objects.get()
    assert (reopening.reopened_by, reopening.reason, reopening.billed_before) == (
        admin_user,
        "Input price was mistyped",
        Decimal("0.004500000"),
    )
