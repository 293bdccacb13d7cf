"""Keep derived numbers current: refresh dirty days inline when tasks run in-process. (A rule
saved in the admin re-allocates through apps.allocation.services.rule_changed.)"""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from apps.usage.signals import days_dirtied

from .tasks import refresh_day


@receiver(days_dirtied)
def _refresh_when_embedded(sender, days, **kwargs):
    # With a broker, beat picks dirty days up in batches; embedded (no worker, no beat) the
    # pages would otherwise never see new events, so the day is refreshed right away.
    if settings.ROLLUP_REFRESH_ON_INGEST:
        for day in days:
            refresh_day.delay(day.isoformat())
