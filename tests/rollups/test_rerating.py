"""Re-rating: a price or discount change re-prices the affected events and dirties their days."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from apps.closing.changes import price_change
from apps.rollups.services import dirty_days
from apps.usage.models import DirtyMark, RerateRun, UsageEvent
from apps.usage.services import events_rerate
from tests.factories import ModelPriceFactory, NegotiatedDiscountFactory

from .events import days_ago, event, ingest

pytestmark = pytest.mark.django_db


def _midnight(day):
    return datetime.combine(day, time(0), tzinfo=UTC)


def _billed(day, model="test-model"):
    return sorted(UsageEvent.objects.filter(day=day, model=model).values_list("billed_cost", flat=True))


def _latest_run() -> RerateRun:
    return RerateRun.objects.latest("id")


@pytest.fixture
def history(api_key, price, cheap_price):
    """test-model events 5, 2 and 1 days ago and a cheap-model event 4 days ago, days clean."""
    ingest(
        api_key,
        event(day=days_ago(5)),
        event(day=days_ago(2)),
        event(day=days_ago(1)),
        event(day=days_ago(4), model="cheap-model"),
    )
    DirtyMark.objects.all().delete()


@pytest.fixture
def new_price(history):
    """test-model at double the price ($6 in, $30 out) from 3 days ago: $0.009 per event."""
    price = ModelPriceFactory(
        effective_from=_midnight(days_ago(3)), input_per_mtok=Decimal("6"), output_per_mtok=Decimal("30")
    )
    price_change(price=price)
    return price


def test_a_new_price_row_records_a_pending_run_for_its_model_and_start(new_price):
    run = _latest_run()

    assert (run.provider, run.model, run.start, run.end) == ("anthropic", "test-model", new_price.effective_from, None)
    assert run.status == RerateRun.Status.PENDING


def test_it_reprices_the_events_from_the_new_rows_start_exactly(new_price):
    events_rerate(run=_latest_run())

    assert _billed(days_ago(2)) == [Decimal("0.009000000")]
    assert _billed(days_ago(1)) == [Decimal("0.009000000")]
    assert UsageEvent.objects.get(day=days_ago(1)).price_id == new_price.id


def test_it_leaves_events_before_the_new_rows_start_alone(new_price, price):
    events_rerate(run=_latest_run())

    assert _billed(days_ago(5)) == [Decimal("0.004500000")]
    assert UsageEvent.objects.get(day=days_ago(5)).price_id == price.id


def test_it_leaves_other_models_alone(new_price):
    events_rerate(run=_latest_run())

    assert _billed(days_ago(4), model="cheap-model") == [Decimal("0.001500000")]
    assert days_ago(4) not in dirty_days()


def test_it_marks_only_the_repriced_days_dirty(new_price):
    events_rerate(run=_latest_run())

    assert dirty_days() == [days_ago(2), days_ago(1)]


def test_it_records_what_the_run_did(new_price):
    run = events_rerate(run=_latest_run())

    run.refresh_from_db()
    assert run.status == RerateRun.Status.DONE
    assert (run.events_checked, run.events_changed, run.days_marked_dirty) == (2, 2, 2)
    assert run.finished_at is not None


def test_running_it_again_changes_nothing(new_price):
    events_rerate(run=_latest_run())
    DirtyMark.objects.all().delete()

    run = events_rerate(run=_latest_run())

    assert (run.events_changed, run.days_marked_dirty) == (0, 0)
    assert dirty_days() == []


def test_an_edited_price_reprices_every_event_it_priced(history, price):
    price.input_per_mtok = Decimal("6")
    price.save()
    price_change(price=price)

    events_rerate(run=_latest_run())

    assert _billed(days_ago(5)) == [Decimal("0.007500000")]
    assert _billed(days_ago(1)) == [Decimal("0.007500000")]


def test_a_first_price_for_a_model_prices_its_unpriced_events(api_key, history):
    ingest(api_key, event(model="new-model"))
    price_change(price=ModelPriceFactory(model="new-model", effective_from=_midnight(days_ago(30))))

    events_rerate(run=_latest_run())

    stored = UsageEvent.objects.get(model="new-model")
    assert (stored.unpriced, stored.billed_cost) == (False, Decimal("0.004500000"))


def test_a_later_discount_changes_billed_cost_but_not_list_cost(history):
    price_change(price=NegotiatedDiscountFactory(percent_off=Decimal("20"), effective_from=_midnight(days_ago(3))))

    events_rerate(run=_latest_run())

    repriced = UsageEvent.objects.get(day=days_ago(1))
    assert (repriced.list_cost, repriced.billed_cost) == (Decimal("0.004500000"), Decimal("0.003600000"))


def test_a_later_discount_leaves_events_before_it_alone(history):
    price_change(price=NegotiatedDiscountFactory(percent_off=Decimal("20"), effective_from=_midnight(days_ago(3))))

    run = events_rerate(run=_latest_run())

    assert _billed(days_ago(5)) == [Decimal("0.004500000")]
    assert _billed(days_ago(4), model="cheap-model") == [Decimal("0.001500000")]
    assert run.events_changed == 2


def test_a_price_change_runs_the_rerate_task_after_commit(history, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        price = ModelPriceFactory(
            effective_from=_midnight(days_ago(3)), input_per_mtok=Decimal("6"), output_per_mtok=Decimal("30")
        )
        price_change(price=price)
        assert _latest_run().status == RerateRun.Status.PENDING  # not before the commit

    assert _latest_run().status == RerateRun.Status.DONE
    assert _billed(days_ago(1)) == [Decimal("0.009000000")]
