"""Admin for shared-cost rules (with their targets) and, read-only, their results."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from apps.closing.changes import rule_history_rewrite
from apps.pricing.admin_columns import money_column
from apps.usage.selectors import open_from

from .models import AllocationResult, RuleTarget, SharedCostRule
from .services import SPLIT_FIELDS, rule_changed, rule_keep_closed_months


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


class SharedCostRuleForm(forms.ModelForm):
    rewrite_closed_months = forms.BooleanField(
        required=False,
        help_text=(
            "Leave unticked to keep the closed months as they were allocated: the change then applies "
            "from the 1st of the month after the last closed one, and the rule as it was is kept for the "
            "months before. Tick to reopen them and re-apply the changed rule to every day since it took "
            "effect (recorded with the reason)."
        ),
    )
    rewrite_reason = forms.CharField(
        required=False, max_length=300, help_text="Why closed months are rewritten (required when ticked)."
    )

    class Meta:
        model = SharedCostRule
        fields = ("name", *SPLIT_FIELDS, "effective_from", "effective_until")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("rewrite_closed_months") and not cleaned.get("rewrite_reason", "").strip():
            raise ValidationError({"rewrite_reason": "Give the reason closed months are rewritten."})
        month_start = open_from()
        before = self.instance.pk and SharedCostRule.objects.get(pk=self.instance.pk)
        if (
            before
            and month_start
            and before.effective_until
            and before.effective_until < month_start
            and set(self.changed_data) & set(SPLIT_FIELDS)
            and not cleaned.get("rewrite_closed_months")
        ):
            raise ValidationError(
                "This rule ended in a closed month, so changing how it splits rewrites closed months: "
                "tick “rewrite closed months” to do so, or add a new rule."
            )
        return cleaned


@admin.register(SharedCostRule)
class SharedCostRuleAdmin(admin.ModelAdmin):
    form = SharedCostRuleForm
    list_display = (
        "name",
        "source",
        "source_team",
        money_column("monthly_amount", "Monthly amount"),
        "method",
        "all_teams",
        "effective_from",
        "effective_until",
    )
    list_filter = ("source", "method")
    inlines = (RuleTargetInline,)
    actions = ("reapply_to_history",)

    def save_model(self, request, obj, form, change):
        if change:  # the rule as it was, for rule_keep_closed_months in save_related
            form.before = SharedCostRule.objects.get(pk=obj.pk)
            form.before_targets = list(form.before.targets.all())
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        rule = form.instance
        today = timezone.now().date()
        split_changed = set(form.changed_data) & set(SPLIT_FIELDS) or any(f.has_changed() for f in formsets)
        if not change or not split_changed:
            rule_changed(rule=rule, today=today)
            return
        if form.cleaned_data.get("rewrite_closed_months"):
            reopened = rule_history_rewrite(
                rule=rule, today=today, by=request.user, reason=form.cleaned_data["rewrite_reason"].strip()
            )
            self.message_user(
                request,
                f"{len(reopened)} closed month(s) reopened; the change is being applied to every day since the "
                "rule took effect.",
            )
            return
        month_start = open_from()
        kept = rule_keep_closed_months(
            rule=rule, before=form.before, before_targets=form.before_targets, month_start=month_start
        )
        rule_changed(rule=rule, today=today)
        if kept:
            self.message_user(
                request,
                f"Closed months keep the rule as it was (until {kept.effective_until:%d %b %Y}); "
                f"the change applies from {month_start:%d %b %Y}.",
            )

    @admin.action(description="Re-apply to history (rewrites closed months from the rule's start)")
    def reapply_to_history(self, request, queryset):
        today = timezone.now().date()
        for rule in queryset:
            rule_history_rewrite(rule=rule, today=today, by=request.user, reason="Re-applied to history from the admin")
        self.message_user(request, f"Re-allocation queued for {queryset.count()} rule(s).")


@admin.register(AllocationResult)
class AllocationResultAdmin(admin.ModelAdmin):
    list_display = (
        "day",
        "rule",
        "team",
        money_column("amount", "Amount", places=6),
        "method",
        "basis",
        "basis_total",
        "share",
        "fell_back_to_even",
    )
    list_filter = ("rule", "team", "method")
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
