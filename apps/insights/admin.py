"""Admin: thresholds, routing candidates, asynchronous scopes and the opportunities themselves."""

from django.contrib import admin

from .models import AsyncScope, Opportunity, RoutingCandidate, SavingsSettings, TeamCalendar


@admin.register(SavingsSettings)
class SavingsSettingsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return not SavingsSettings.objects.exists()


@admin.register(TeamCalendar)
class TeamCalendarAdmin(admin.ModelAdmin):
    list_display = ("team", "working_hours_start", "working_hours_end", "working_timezone")


@admin.register(RoutingCandidate)
class RoutingCandidateAdmin(admin.ModelAdmin):
    list_display = ["provider", "model", "cheaper_model"]


@admin.register(AsyncScope)
class AsyncScopeAdmin(admin.ModelAdmin):
    list_display = ["team", "feature", "agent"]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["lever", "team", "feature", "monthly_saving", "status", "owner", "realised_monthly_saving"]
    list_filter = ["lever", "status", "team"]
    readonly_fields = ["fingerprint", "evidence"]
