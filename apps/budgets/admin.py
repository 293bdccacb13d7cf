"""Admin for budgets and webhooks; anomalies, alerts and deliveries (with failures) read-only."""

from django.contrib import admin

from .models import Alert, Anomaly, Budget, Delivery, Webhook


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "team",
        "product",
        "monthly_amount",
        "effective_from",
        "thresholds",
        "include_allocated",
        "hard_limit",
    )
    list_filter = ("team",)


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
    list_display = ("period", "dimension", "subject", "team", "amount", "baseline", "acknowledged_at")
    list_filter = ("dimension", "team")
