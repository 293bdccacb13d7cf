"""Admin for month close: close a month, see closed months and reopenings, set the auto-close delay."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.usage.models import ClosedMonth
from attribution_site.periods import MonthPeriod

from .checklist import month_open_items
from .models import CloseSettings, MonthClose, MonthReopening
from .selectors import month_totals
from .services import MonthAlreadyClosed, MonthNotReady, closed_message, month_close_reviewed, today_utc


class CloseMonthForm(forms.ModelForm):
    # No max_length: the browser would cut "2026-10-01" to "2026-10" as it is typed, closing October
    # unasked. The whole value reaches MonthPeriod.parse, which refuses anything but YYYY-MM.
    close_month = forms.CharField(label="Month", help_text="The month to close, YYYY-MM (it must have ended).")
    force = forms.BooleanField(
        required=False, label="Close past open items", help_text="Recorded with the items and the reason."
    )
    reason = forms.CharField(required=False, max_length=300, help_text="Required to close past open items.")

    class Meta:
        model = ClosedMonth
        fields = ()

    def clean_close_month(self):
        try:
            period = MonthPeriod.parse(self.cleaned_data["close_month"].strip(), today=today_utc())
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if period.month_end >= period.today:
            raise ValidationError(f"{period.key} has not ended yet: a month closes once it is over.")
        if ClosedMonth.objects.filter(month=period.month_start).exists():
            raise ValidationError(closed_message(period.month_start))
        return period.month_start

    def clean(self):
        cleaned = super().clean()
        month = cleaned.get("close_month")
        if month is None:
            return cleaned
        items = month_open_items(month)
        if items and not cleaned.get("force"):
            raise ValidationError(
                [f"{month:%Y-%m} has open items; resolve them, or tick “Close past open items” and give a reason:"]
                + [str(item) for item in items]
            )
        if items and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Give the reason the month closes with open items.")
        return cleaned


class RecordAdmin(admin.ModelAdmin):
    """A record of what happened: read, never added, changed or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClosedMonth)
class ClosedMonthAdmin(admin.ModelAdmin):
    """Adding a closed month closes it (apps.closing.services.month_close); a month is reopened only
    by a change that rewrites it, on record, so rows here cannot be edited or deleted."""

    form = CloseMonthForm
    list_display = ("month_label", "closed_at", "closed_by", "billed", "allocated")

    @admin.display(description="Month", ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description="Billed ($)")
    def billed(self, obj):
        return month_totals(obj.month).billed

    @admin.display(description="Allocated shared costs ($)")
    def allocated(self, obj):
        return month_totals(obj.month).allocated

    def save_model(self, request, obj, form, change):
        # The checklist is asked again after the month's days are refreshed (month_close_reviewed).
        data = form.cleaned_data
        month_close_reviewed(
            month=data["close_month"],
            by=request.user,
            today=today_utc(),
            via=MonthClose.Via.ADMIN,
            force=data["force"],
            reason=data["reason"],
        )
        closed = ClosedMonth.objects.get(month=data["close_month"])
        obj.pk, obj.month, obj.closed_at, obj.closed_by = closed.pk, closed.month, closed.closed_at, closed.closed_by

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonthReopening)
class MonthReopeningAdmin(RecordAdmin):
    list_display = (
        "month_label",
        "reopened_at",
        "reopened_by",
        "reason",
        "change",
        "billed_before",
        "billed_after_or_now",
        "allocated_before",
        "allocated_after_or_now",
        "reclosed_at",
    )
    actions = ("close_again",)

    @admin.display(description="Month", ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description="Billed after ($)")
    def billed_after_or_now(self, obj):
        return obj.billed_after if obj.reclosed_at else f"{month_totals(obj.month).billed} (open)"

    @admin.display(description="Allocated after ($)")
    def allocated_after_or_now(self, obj):
        return obj.allocated_after if obj.reclosed_at else f"{month_totals(obj.month).allocated} (open)"

    @admin.action(description="Close these months again (freezes their re-derived figures)")
    def close_again(self, request, queryset):
        """Through the same checklist as every close: a month with open items stays open, named."""
        months = sorted(set(queryset.filter(reclosed_at__isnull=True).values_list("month", flat=True)))
        closed = []
        for month in months:
            try:
                month_close_reviewed(month=month, by=request.user, today=today_utc(), via=MonthClose.Via.ADMIN)
            except MonthAlreadyClosed:
                continue
            except MonthNotReady as exc:
                self.message_user(
                    request, exc.messages[0] + " Close it from the overview or Closed months → Add.", messages.ERROR
                )
                continue
            closed.append(month)
        self.message_user(request, f"Closed {len(closed)} month(s): {', '.join(f'{m:%Y-%m}' for m in closed)}.")


@admin.register(CloseSettings)
class CloseSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "auto_close_after_days", "archive_after_months")

    def has_add_permission(self, request):
        return not CloseSettings.objects.exists()  # one row


@admin.register(MonthClose)
class MonthCloseAdmin(RecordAdmin):
    """Every close on record, forced ones with the open items they went past and why."""

    list_display = ("month_label", "closed_at", "closed_by", "via", "total", "forced", "reason")
    list_filter = ("forced", "via")
    readonly_fields = ("month", "closed_at", "closed_by", "via", "total", "forced", "open_items", "reason")

    @admin.display(description="Month", ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"
