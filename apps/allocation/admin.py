"""Admin for shared-cost rules (with their targets) and, read-only, their results."""

from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from .models import AllocationResult, RuleTarget, SharedCostRule
from .tasks import allocate_days


class RuleTargetFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        rule = self.instance
        if rule.method == SharedCostRule.Method.FIXED_PERCENT:
            if any(row.get("percent") is None for row in rows):
                raise ValidationError("Give every target team its percentage.")
            total = sum((row["percent"] for row in rows), Decimal(0))
            if total != 100:
                raise ValidationError(f"Fixed percentages must sum to 100; these sum to {total}.")
        elif not rule.all_teams and not rows:
            raise ValidationError("List the target teams, or tick 'all teams'.")


class RuleTargetInline(admin.TabularInline):
    model = RuleTarget
    formset = RuleTargetFormSet
    extra = 1


@admin.register(SharedCostRule)
class SharedCostRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "source_team", "monthly_amount", "method", "all_teams", "effective_from")
    list_filter = ("source", "method")
    inlines = (RuleTargetInline,)
    actions = ("reapply_to_history",)

    @admin.action(description="Re-apply to history (rewrites closed months from the rule's start)")
    def reapply_to_history(self, request, queryset):
        today = timezone.now().date()
        for rule in queryset:
            allocate_days.delay(rule.effective_from.isoformat(), (rule.effective_until or today).isoformat())
        self.message_user(request, f"Re-allocation queued for {queryset.count()} rule(s).")


@admin.register(AllocationResult)
class AllocationResultAdmin(admin.ModelAdmin):
    list_display = ("day", "rule", "team", "amount", "method", "basis", "basis_total", "share", "fell_back_to_even")
    list_filter = ("rule", "team", "method")
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
