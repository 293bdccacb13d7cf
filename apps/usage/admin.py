"""Admin for API keys (the secret is shown once, on creation) and, read-only, usage events."""

from django.contrib import admin, messages

from .models import ApiKey, DirtyMark, RerateRun, UsageEvent
from .services import api_keys_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "prefix", "pinned_tags", "default_tags", "created_at", "revoked_at")
    list_filter = ("team",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at")
    fields = ("name", "team", "pinned_tags", "default_tags", "prefix", "created_at", "expires_at", "revoked_at")
    actions = ("revoke",)

    def save_model(self, request, obj, form, change):
        if not change:
            raw = obj.set_new_key()
            messages.warning(
                request,
                f"The API key for {obj.name} is {raw} — copy it now; it is not stored and cannot be shown again.",
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        self.message_user(request, f"Revoked {api_keys_revoke(keys=queryset)} key(s).")


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "timestamp", "team", "team_tag", "product", "model", "billed_cost", "unpriced")
    list_filter = ("unpriced", "provider", "team")
    search_fields = ("event_id", "trace_id", "customer")
    date_hierarchy = "timestamp"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DirtyMark)
class DirtyMarkAdmin(admin.ModelAdmin):
    list_display = ("day", "marked_at")

    def has_add_permission(self, request):
        return False


@admin.register(RerateRun)
class RerateRunAdmin(admin.ModelAdmin):
    """Shows that a price or discount change re-priced history, and how much changed."""

    list_display = ("created_at", "reason", "status", "events_checked", "events_changed", "days_marked_dirty")
    list_filter = ("status", "provider")
    readonly_fields = [f.name for f in RerateRun._meta.fields]

    def has_add_permission(self, request):
        return False
