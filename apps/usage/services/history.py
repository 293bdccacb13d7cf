"""Re-deriving stored events when prices or the registry change: re-rating and re-attribution.

Events are facts, but their price and attribution are derived from tables admins edit. These
services recompute the derived columns for the affected events and mark their days dirty, so
the rollup workers rebuild exactly those days.
"""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.org.registry import registry
from apps.pricing.rating import catalog, event_rate
from apps.usage.models import RerateRun, UsageEvent
from apps.usage.selectors import closed_months, open_days

from .closing import close_lock
from .storage import days_mark_dirty

RERATE_CHUNK = 2000
_LOCK_NAMESPACE = 0x52415445  # "RATE"
_RATED = ("price_id", "list_cost", "billed_cost", "cache_savings", "unpriced")


@contextmanager
def provider_rerate_lock(provider: str):
    """Runs re-rating one provider's events take turns (PostgreSQL; SQLite has one writer anyway).

    Two price edits in quick succession queue two runs: without turns, the older one, holding the
    older price table, could write its chunk after the newer one and leave stale costs behind.
    The lock is the session's, as each chunk commits on its own."""
    if connection.vendor != "postgresql":
        yield
        return
    key = [_LOCK_NAMESPACE, zlib.crc32(provider.encode()) - 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def events_rerate(*, run: RerateRun) -> RerateRun:
    """Re-price the run's events (provider, optional model, time range) at today's price table,
    leaving the events booked in closed months as they were."""
    with provider_rerate_lock(run.provider):
        return _events_rerate(run=run, prices=catalog.get())  # the table as it is once our turn came


def _events_rerate(*, run: RerateRun, prices) -> RerateRun:
    # An event's day is never before its timestamp's (a late one is booked later): the day bound
    # lets PostgreSQL skip the months before the run's start (apps.usage.partitions).
    events = UsageEvent.objects.filter(
        open_days(), provider=run.provider, timestamp__gte=run.start, day__gte=run.start.astimezone(UTC).date()
    )
    if run.end is not None:
        events = events.filter(timestamp__lt=run.end)
    if run.model:
        # Events priced by the model's rows, plus unpriced ones that a new row may now price.
        names = {run.model} | {a for (p, a), m in prices.exact_aliases.items() if p == run.provider and m == run.model}
        events = events.filter(Q(price__model=run.model) | Q(price__isnull=True) | Q(model__in=names))
    checked = changed = 0
    days = set()
    run.events_total = events.count()
    RerateRun.objects.filter(pk=run.pk).update(events_total=run.events_total)  # the admin's progress line
    for chunk in _chunks(events.order_by("id").iterator(chunk_size=RERATE_CHUNK)):
        stale = []
        for event in chunk:
            rating = event_rate(
                provider=event.provider,
                model=event.model,
                timestamp=event.timestamp,
                tokens=event.tokens,
                service_tier=event.service_tier,
                prices=prices,
            )
            new = (rating.price_id, rating.list_cost, rating.billed_cost, rating.cache_savings, rating.unpriced)
            if new != tuple(getattr(event, f) for f in _RATED):
                event.price_id, event.list_cost, event.billed_cost, event.cache_savings, event.unpriced = new
                stale.append(event)
        checked += len(chunk)
        if stale:
            with transaction.atomic():
                close_lock(shared=True)  # a month closed since the run began stays as it was
                closed = set(closed_months())
                stale = [e for e in stale if e.day.replace(day=1) not in closed]
                UsageEvent.objects.bulk_update(stale, _RATED)
                days_mark_dirty(e.day for e in stale)
            changed += len(stale)
            days.update(e.day for e in stale)
        RerateRun.objects.filter(pk=run.pk).update(events_checked=checked, events_changed=changed)
    run.events_checked, run.events_changed, run.days_marked_dirty = checked, changed, len(days)
    run.status, run.finished_at = RerateRun.Status.DONE, timezone.now()
    run.save()
    return run


def _chunks(iterator, size: int = RERATE_CHUNK):
    chunk = []
    for item in iterator:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@transaction.atomic
def events_reattribute() -> int:
    """Point every event's team, product and environment at what its tag resolves to today, and
    rename features and agents that an alias now maps onto another name.

    Only tag values whose resolution changed are touched (one UPDATE per such value); their days
    are marked dirty. Events booked in closed months keep their attribution. Customer aliases apply
    to new events only (ids keep their case as sent).
    Returns the number of events re-attributed.
    """
    reg = registry.get()
    events = UsageEvent.objects.filter(open_days())
    dimensions = (
        ("team", reg.team_ids),
        ("product", reg.product_ids),
        ("environment", reg.environment_ids),
    )
    changed = 0
    for dimension, ids in dimensions:
        tag_field, id_field = f"{dimension}_tag", f"{dimension}_id"
        pairs = events.values_list(tag_field, id_field).distinct()
        for tag, current in list(pairs):
            expected = ids.get(reg.canonical(dimension, tag)) if tag else None
            if expected == current:
                continue
            stale = events.filter(**{tag_field: tag, id_field: current})
            days_mark_dirty(stale.values_list("day", flat=True).distinct())
            changed += stale.update(**{id_field: expected})
    for dimension in ("feature", "agent"):
        for alias, target in reg.aliases.get(dimension, {}).items():
            stale = events.filter(**{dimension: alias})
            days_mark_dirty(stale.values_list("day", flat=True).distinct())
            changed += stale.update(**{dimension: target})
    return changed


def rerate_run_create(*, reason: str, provider: str, model: str, start: datetime, end: datetime | None) -> RerateRun:
    return RerateRun.objects.create(reason=reason, provider=provider, model=model, start=start, end=end)
