"""On PostgreSQL a late event waits for a close of its month in progress, then is booked after it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.usage.models import ClosedMonth, UsageEvent
from apps.usage.services.closing import close_lock
from tests.rollups.events import event, ingest

from .locks import advisory_lock_waiter_seen

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_late_event_sent_during_the_close_is_booked_in_the_next_open_month(api_key, price):
    this_month = timezone.now().date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    stored = threading.Event()

    def send():
        try:
            ingest(api_key, event(day=last_month.replace(day=10), team="search", event_id="late"))
            stored.set()
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    with transaction.atomic():  # a close in progress: it holds the lock until it has recorded the month
        close_lock(shared=False)
        sender.start()
        advisory_lock_waiter_seen()  # it is blocked on the lock, not merely slow
        assert not stored.is_set()  # the late event waits rather than landing in the month being closed
        ClosedMonth.objects.create(month=last_month)
    sender.join(timeout=30)

    late = UsageEvent.objects.get(event_id="late")
    assert (late.day, late.adjusts_month) == (this_month, f"{last_month:%Y-%m}")
