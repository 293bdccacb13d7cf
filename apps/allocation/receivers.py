"""Keep derived numbers current: refresh dirty days inline when tasks run in-process, and
re-apply rules to the open month when a rule changes."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from apps.usage.signals import days_dirtied

from .models import RuleTarget, SharedCostRule
from .tasks import allocate_days, refresh_day


@receiver(days_dirtied)
def _refresh_when_embedded(sender, days, **kwargs):
    # With a broker, beat picks dirty days up in batches; embedded (no worker, no beat) the
    # pages would otherwise never see new events, so the day is refreshed right away.
    if settings.ROLLUP_REFRESH_ON_INGEST:
        for day in days:
            refresh_day.delay(day.isoformat())


@receiver(post_save, sender=SharedCostRule)
@receiver(post_delete, sender=SharedCostRule)
@receiver(post_save, sender=RuleTarget)
@receiver(post_delete, sender=RuleTarget)
def _reallocate_open_month(sender, instance, **kwargs):
    """A rule change rewrites the current month only; closed months change when an admin asks
    (the rule admin's "Re-apply to history" action)."""
    rule = instance if sender is SharedCostRule else instance.rule
    today = timezone.now().date()
    start = max(rule.effective_from, today.replace(day=1))
    transaction.on_commit(lambda: allocate_days.delay(start.isoformat(), today.isoformat()))
