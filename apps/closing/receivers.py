"""Record each reopening of a closed month, with the frozen totals it had."""

from __future__ import annotations

from django.dispatch import receiver

from apps.usage.signals import months_reopened

from .models import MonthReopening
from .selectors import month_totals


@receiver(months_reopened)
def _record_reopening(sender, *, months, by, reason, change, **kwargs):
    rows = []
    for month in months:
        totals = month_totals(month)  # still frozen: the receiver runs before the month opens
        rows.append(
            MonthReopening(
                month=month,
                reopened_by=by,
                reason=reason[:300],
                change=change[:300],
                billed_before=totals.billed,
                allocated_before=totals.allocated,
            )
        )
    MonthReopening.objects.bulk_create(rows)
