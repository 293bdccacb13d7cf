"""Admin for prices, model aliases and negotiated discounts: each save or delete re-prices history
through apps.closing.changes (open months, and closed ones when the editor ticks the rewrite)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.closing.changes import alias_change, price_change
from apps.closing.selectors import rerate_months
from apps.usage.models import RerateRun

from .admin_columns import money_column
from .models import ModelAlias, ModelPrice, NegotiatedDiscount

PER_MTOK = {
    "input_per_mtok": "Input",
    "output_per_mtok": "Output",
    "cache_read_per_mtok": "Cache read",
    "cache_write_per_mtok": "Cache write (5 min)",
    "cache_write_1h_per_mtok": "Cache write (1 hour)",
    "long_input_per_mtok": "Long-context input",
    "long_output_per_mtok": "Long-context output",
    "long_cache_read_per_mtok": "Long-context cache read",
    "long_cache_write_per_mtok": "Long-context cache write (5 min)",
    "long_cache_write_1h_per_mtok": "Long-context cache write (1 hour)",
}


class RewriteClosedMonthsForm(forms.ModelForm):
    """A price, alias or discount edit re-rates open months only, unless asked to rewrite closed ones."""

    rewrite_closed_months = forms.BooleanField(
        required=False,
        help_text=(
            "Leave unticked to keep closed months as they were: the change re-prices open months only. "
            "Tick to reopen the closed months it affects and re-price them too (recorded with the reason)."
        ),
    )
    rewrite_reason = forms.CharField(
        required=False, max_length=300, help_text="Why closed months are rewritten (required when ticked)."
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("rewrite_closed_months") and not cleaned.get("rewrite_reason", "").strip():
            raise ValidationError({"rewrite_reason": "Give the reason closed months are rewritten."})
        return cleaned


class ModelPriceForm(RewriteClosedMonthsForm):
    class Meta:
        model = ModelPrice
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets choose what is shown)
        labels = {field: f"{label} ($/MTok)" for field, label in PER_MTOK.items()}


class RewriteClosedMonthsAdmin(admin.ModelAdmin):
    """Saves and deletes re-price history through `history_change` (the subclass's service)."""

    form = RewriteClosedMonthsForm

    def get_fieldsets(self, request, obj=None):
        if not self.fieldsets:  # the default fieldset lists the form's fields, these included
            return super().get_fieldsets(request, obj)
        return [*self.fieldsets, ("Closed months", {"fields": _REWRITE_FIELDS})]

    def history_change(self, obj, *, form=None, deleted: bool = False, **options) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.history_change(
            obj,
            form=form,
            rewrite_closed_months=form.cleaned_data.get("rewrite_closed_months", False),
            by=request.user,
            reason=form.cleaned_data.get("rewrite_reason", ""),
        )

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self.history_change(obj, deleted=True, by=request.user)

    def delete_queryset(self, request, queryset):
        deleted = list(queryset)
        super().delete_queryset(request, queryset)
        for obj in deleted:
            self.history_change(obj, deleted=True, by=request.user)


class PriceChangeAdmin(RewriteClosedMonthsAdmin):
    readonly_fields = ("rerating",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.fieldsets:  # the default fieldset lists the read-only field already
            return fieldsets
        return [*fieldsets, ("Re-rating", {"fields": ("rerating",)})]

    @admin.display(description="Re-rating")
    def rerating(self, obj):
        """Before saving, the months a save re-prices; then the runs' progress (the save only queues them)."""
        if obj is None or obj.pk is None:
            return "Saving re-prices the model's events from the effective date, in open months."
        open_months, closed = rerate_months(provider=obj.provider, model=obj.model, start=obj.effective_from)
        lines = [
            "Saving re-prices: " + (", ".join(f"{m:%b %Y}" for m in open_months) or "no month with spend") + " (open)."
        ]
        if closed:
            listed = ", ".join(f"{m:%b %Y}" for m in closed)
            lines.append(f"Closed, re-priced only with “rewrite closed months” ticked: {listed}.")
        runs = RerateRun.objects.filter(provider=obj.provider, model__in=[obj.model, ""]).order_by("-created_at")[:3]
        lines += [run.progress for run in runs]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def history_change(self, obj, *, form=None, deleted: bool = False, **options) -> None:
        # An edit that moves the start later still re-prices from where it used to start.
        previous = form.initial.get("effective_from") if form is not None else None
        price_change(price=obj, previous_start=previous, deleted=deleted, **options)


_REWRITE_FIELDS = ("rewrite_closed_months", "rewrite_reason")


@admin.register(ModelPrice)
class ModelPriceAdmin(PriceChangeAdmin):
    form = ModelPriceForm
    list_display = (
        "provider",
        "model",
        "effective_from",
        *(
            money_column(field, f"{PER_MTOK[field]} ($/MTok)", unit=" /MTok")
            for field in ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok")
        ),
        "long_context_threshold",
        "source",
    )
    list_filter = ("provider", "source")
    search_fields = ("model",)
    date_hierarchy = "effective_from"
    fieldsets = (
        (None, {"fields": ("provider", "model", "effective_from", "currency", "source")}),
        (
            "Per million tokens",
            {
                "fields": (
                    "input_per_mtok",
                    "output_per_mtok",
                    "cache_read_per_mtok",
                    "cache_write_per_mtok",
                    "cache_write_1h_per_mtok",
                )
            },
        ),
        (
            "Long context",
            {
                "fields": (
                    "long_context_threshold",
                    "long_input_per_mtok",
                    "long_output_per_mtok",
                    "long_cache_read_per_mtok",
                    "long_cache_write_per_mtok",
                    "long_cache_write_1h_per_mtok",
                )
            },
        ),
        ("Discounts", {"fields": ("batch_discount_percent",)}),
    )


@admin.register(ModelAlias)
class ModelAliasAdmin(RewriteClosedMonthsAdmin):
    list_display = ("provider", "alias", "match", "model")

    def history_change(self, obj, *, form=None, deleted: bool = False, **options) -> None:
        alias_change(alias=obj, deleted=deleted, **options)

    list_filter = ("provider", "match")
    search_fields = ("alias", "model")


@admin.register(NegotiatedDiscount)
class NegotiatedDiscountAdmin(PriceChangeAdmin):
    list_display = ("provider", "model", "percent_off", "effective_from", "effective_until", "note")
    list_filter = ("provider",)
