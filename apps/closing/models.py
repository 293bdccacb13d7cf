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


class MonthClose(models.Model):
    """One close of a month, on record: who, when, from where, the total it closed at, and the open
    items a forced close went past (with the reason given)."""

    class Via(models.TextChoices):
        PAGE = "page", "Overview page"
        COMMAND = "command", "manage.py close_month"
        ADMIN = "admin", "Admin"
        AUTO = "auto", "Auto-close"

    month = models.DateField(help_text="The month's first day.")
    closed_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices)
    total = MoneyField(help_text="The month's total spend (metered plus fixed costs) when it closed.")
    forced = models.BooleanField(default=False, help_text="Closed past open checklist items.")
    open_items = models.TextField(blank=True, help_text="The open items a forced close went past, one a line.")
    reason = models.CharField(max_length=300, blank=True, help_text="Why a forced close went past them.")

    class Meta:
        ordering = ["-closed_at"]
        get_latest_by = "closed_at"

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} closed {self.closed_at:%Y-%m-%d %H:%M}"
