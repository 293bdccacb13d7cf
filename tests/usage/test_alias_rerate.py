"""Adding a model alias re-prices the events whose model it names, and the admin sees the run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.closing.changes import alias_change
from apps.pricing.models import ModelAlias
from apps.usage.models import RerateRun, UsageEvent
from tests.factories import EventPayloadFactory

pytestmark = pytest.mark.django_db


def test_an_alias_prices_events_that_were_unpriced(price, send, django_capture_on_commit_callbacks):
    send(EventPayloadFactory(model="house-name-for-test-model", input_tokens=1_000_000, output_tokens=0))
    assert UsageEvent.objects.get().unpriced

    with django_capture_on_commit_callbacks(execute=True):
        alias_change(
            alias=ModelAlias.objects.create(provider="anthropic", alias="house-name-for-test-model", model="test-model")
        )

    event = UsageEvent.objects.get()
    assert (event.unpriced, event.billed_cost) == (False, Decimal("3.000000000"))
    run = RerateRun.objects.get(reason__startswith="model alias")
    assert (run.status, run.events_changed) == (RerateRun.Status.DONE, 1)
