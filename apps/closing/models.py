"""Reopenings of closed months (who, why, totals before and after) and the auto-close setting."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.pricing.fields import MoneyField


class MonthReopening(models.Model):
    """A closed month reopened so that a change could rewrite it, with the frozen totals it had and,
    once closed again, the totals it was closed with."""

    month = models.DateField(help_text="The month's first day.")
    reopened_at = models.DateTimeField(default=timezone.now)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=300)
    change = models.CharField(max_length=300, help_text="The edit that rewrote the month.")
    billed_before = MoneyField(help_text="Billed cost of the month's usage when it was reopened.")
    allocated_before = MoneyField(help_text="Shared costs allocated in the month when it was reopened.")
    billed_after = MoneyField(null=True, blank=True, help_text="Billed cost when the month was closed again.")
    allocated_after = MoneyField(null=True, blank=True, help_text="Allocated shared costs when closed again.")
    reclosed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reopened_at"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} reopened {self.reopened_at:%Y-%m-%d %H:%M}"


class CloseSettings(models.Model):
    """One row: how long after its end a month closes itself (off while blank)."""

    auto_close_after_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Close each month automatically this many days after it ends. Blank: months close only by hand.",
    )
    archive_after_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Archive each closed month's raw events to Parquet once it is this many months old "
        "(manage.py archive_events, daily). Blank: months are archived only by hand.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "month close settings"

    def __str__(self) -> str:
        days = self.auto_close_after_days
        return "Months close by hand" if days is None else f"Months close {days} day(s) after they end"
