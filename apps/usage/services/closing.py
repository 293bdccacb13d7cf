"""Closed months at the event level: booking late events in the first open month, and the mark of a close.

Closing and reopening themselves (refreshing the days, recording who and why) are apps.closing's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from apps.usage.models import ClosedMonth
from apps.usage.selectors import closed_months, first_open_month

from .storage import COLUMNS

# Namespace of the PostgreSQL advisory lock between closing a month and storing a late event.
_LOCK_NAMESPACE = 0x434C4F53  # "CLOS"
_DAY = COLUMNS.index("day")
_ADJUSTS = COLUMNS.index("adjusts_month")


def close_lock(*, shared: bool) -> None:
    """Until the transaction ends: a close (exclusive) waits for late events being stored (shared)
    and blocks new ones, so no event lands in a month between its last rebuild and its close.
    SQLite serialises writers with its database lock."""
    if connection.vendor == "postgresql":
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s, 0)", [_LOCK_NAMESPACE])


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def late_events_store(rows: list[tuple], store: Callable[[list[tuple]], dict[str, date]]) -> dict[str, date]:
    """Store event rows with `store`, booking each row dated in a closed month on the first day of
    the first open month instead, marked as an adjustment of its own month (`adjusts_month`).

    Only rows dated before the running month can be late (a month closes once it has ended), so a
    batch of current events costs nothing more."""
    this_month = timezone.now().date().replace(day=1)
    if not any(_day(row[_DAY]) < this_month for row in rows):
        return store(rows)
    with transaction.atomic():
        close_lock(shared=True)
        closed = closed_months()
        if not closed:
            return store(rows)
        adapt = connection.ops.adapt_datefield_value
        booked = []
        for row in rows:
            day = _day(row[_DAY])
            if day.replace(day=1) in closed:
                row = list(row)
                row[_DAY], row[_ADJUSTS] = adapt(first_open_month(day, closed=closed)), f"{day:%Y-%m}"
                row = tuple(row)
            booked.append(row)
        return store(booked)


@transaction.atomic
def month_close_record(*, month: date, by=None) -> ClosedMonth:
    """Mark the month closed (the caller has refreshed its days under `close_lock`)."""
    closed, _ = ClosedMonth.objects.update_or_create(
        month=month, defaults={"closed_at": timezone.now(), "closed_by": by}
    )
    return closed
