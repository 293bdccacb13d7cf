"""Re-rating runs of one provider take turns on PostgreSQL, each with the price table of its turn."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from apps.pricing.models import ModelPrice
from apps.pricing.rating import catalog
from apps.usage.models import RerateRun, UsageEvent
from apps.usage.services.history import events_rerate, provider_rerate_lock, rerate_run_create
from tests.factories import ModelPriceFactory
from tests.rollups.events import event, ingest

from .locks import advisory_lock_waiter_seen

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_run_waits_for_the_providers_turn_and_prices_with_the_table_of_its_turn(api_key):
    price = ModelPriceFactory()  # $3 in, $15 out per million: the event costs $0.0045
    ingest(api_key, event())
    run = rerate_run_create(
        reason="test", provider="anthropic", model="", start=datetime(2020, 1, 1, tzinfo=UTC), end=None
    )
    waiting = threading.Thread(target=lambda: (events_rerate(run=run), connection.close()))

    with provider_rerate_lock("anthropic"):  # an earlier run holds the turn
        waiting.start()
        advisory_lock_waiter_seen()  # it is blocked on the lock, not merely slow
        run.refresh_from_db()
        assert run.status == RerateRun.Status.PENDING
        # A price edit committed while the run waits (update(): no run of its own is queued).
        ModelPrice.objects.filter(pk=price.pk).update(input_per_mtok=Decimal("6"))
        catalog.invalidate()
    waiting.join(timeout=30)

    run.refresh_from_db()
    assert (run.status, run.events_changed) == (RerateRun.Status.DONE, 1)
    assert UsageEvent.objects.get().billed_cost == Decimal("0.007500000")
