"""Celery tasks that re-derive stored events: re-rating and re-attribution."""

from __future__ import annotations

from celery import shared_task

from .models import RerateRun
from .services import events_reattribute, events_rerate


@shared_task(name="usage.rerate")
def rerate(run_id: int) -> int:
    # Claimed once: the task queued on commit and the periodic pick-up (rerate_pending) may both see it.
    if not RerateRun.objects.filter(pk=run_id, status=RerateRun.Status.PENDING).update(status=RerateRun.Status.RUNNING):
        return 0
    run = RerateRun.objects.get(pk=run_id)
    try:
        return events_rerate(run=run).events_changed
    except Exception as exc:
        RerateRun.objects.filter(pk=run_id).update(status=RerateRun.Status.FAILED, error=str(exc)[:2000])
        raise


@shared_task(name="usage.reattribute")
def reattribute() -> int:
    return events_reattribute()


@shared_task(name="usage.rerate_pending")
def rerate_pending() -> int:
    """Every few seconds: run the re-rating runs still pending, oldest first (in-process, where a
    price saved in the admin answers at once and leaves its run here: settings.RERATE_IN_PERIODIC)."""
    pending = RerateRun.objects.filter(status=RerateRun.Status.PENDING).order_by("created_at", "id")
    run_ids = list(pending.values_list("pk", flat=True))
    for run_id in run_ids:
        rerate(run_id)
    return len(run_ids)


@shared_task(name="usage.create_partitions_ahead")
def create_partitions_ahead() -> int:
    """PostgreSQL: the coming months' event partitions exist before their first event."""
    from .partitions import partitions_create_ahead

    return len(partitions_create_ahead())
