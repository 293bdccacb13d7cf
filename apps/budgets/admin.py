"""Admin for budgets and webhooks; anomalies, alerts and deliveries (with failures) read-only."""

from django import forms
from django.contrib import admin

from apps.pricing.admin_columns import money_column

from .models import Alert, Anomaly, Budget, ChangeSettings, Delivery, Webhook


class ThresholdsField(forms.CharField):
    """Alert thresholds typed as `50, 80, 100` (whole percentages), stored as a list."""

    def prepare_value(self, value):
        return ", ".join(str(t) for t in value) if isinstance(value, list) else value

    def to_python(self, value) -> list[int]:
        text = super().to_python(value)
        thresholds = []
        for part in (p.strip().rstrip("%") for p in text.split(",")):
            if not part:
                continue
            if not part.isdigit() or not 0 < int(part) <= 1000:
                raise forms.ValidationError(f"{part!r} is not a whole percentage from 1 to 1000.")
            thresholds.append(int(part))
        return sorted(set(thresholds))


class BudgetForm(forms.ModelForm):
    thresholds = ThresholdsField(
        label="Alert thresholds (%)",
        help_text="Whole percentages of the budget, comma-separated: an alert is raised as each is crossed.",
    )

    class Meta:
        model = Budget
        fields = "__all__"  # noqa: DJ007
        labels = {"monthly_amount": "Monthly amount ($)"}


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    form = BudgetForm
    list_display = (
        "__str__",
        "team",
        "product",
        money_column("monthly_amount", "Monthly amount"),
        "effective_from",
        "thresholds_shown",
        "include_allocated",
        "hard_limit",
    )
    list_filter = ("team",)

    @admin.display(description="Alert thresholds")
    def thresholds_shown(self, obj) -> str:
        return ", ".join(f"{t}%" for t in obj.thresholds)


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "url", "is_active")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = ("channel", "target", "status", "attempts", "last_error", "sent_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "subject", "period", "team", "message")
    list_filter = ("kind", "team")
    inlines = (DeliveryInline,)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("alert", "channel", "target", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "channel")


@admin.register(Anomaly)
class AnomalyAdmin(ReadOnlyAdmin):
    list_display = (
        "period",
        "dimension",
        "subject",
        "team",
        money_column("amount", "Spend"),
        money_column("baseline", "Typical"),
        "acknowledged_at",
    )
    list_filter = ("dimension", "team")


@admin.register(ChangeSettings)
class ChangeSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "threshold_percent", "min_change")

    def has_add_permission(self, request):
        return not ChangeSettings.objects.exists()  # one row
