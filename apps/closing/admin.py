"""Admin for month close: close a month, see closed months and reopenings, set the auto-close delay."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from apps.usage.models import ClosedMonth
from attribution_site.periods import MonthPeriod

from .models import CloseSettings, MonthReopening
from .selectors import month_totals
from .services import month_close, today_utc


class CloseMonthForm(forms.ModelForm):
    close_month = forms.CharField(
        label="Month", max_length=7, help_text="The month to close, YYYY-MM (it must have ended)."
    )

    class Meta:
        model = ClosedMonth
        fields = ()

    def clean_close_month(self):
        try:
            period = MonthPeriod.parse(self.cleaned_data["close_month"], today=today_utc())
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if period.month_end >= period.today:
            raise ValidationError(f"{period.key} has not ended yet: a month closes once it is over.")
        return period.month_start


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
        closed = month_close(month=form.cleaned_data["close_month"], by=request.user, today=today_utc())
        obj.pk, obj.month, obj.closed_at, obj.closed_by = closed.pk, closed.month, closed.closed_at, closed.closed_by

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonthReopening)
class MonthReopeningAdmin(admin.ModelAdmin):
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
        months = sorted(set(queryset.filter(reclosed_at__isnull=True).values_list("month", flat=True)))
        for month in months:
            month_close(month=month, by=request.user, today=today_utc())
        self.message_user(request, f"Closed {len(months)} month(s): {', '.join(f'{m:%Y-%m}' for m in months)}.")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CloseSettings)
class CloseSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "auto_close_after_days", "archive_after_months")

    def has_add_permission(self, request):
        return not CloseSettings.objects.exists()  # one row
