"""Admin for prices, model aliases and negotiated discounts."""

from django import forms
from django.contrib import admin

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


class ModelPriceForm(forms.ModelForm):
    class Meta:
        model = ModelPrice
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets choose what is shown)
        labels = {field: f"{label} ($/MTok)" for field, label in PER_MTOK.items()}


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
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
class ModelAliasAdmin(admin.ModelAdmin):
    list_display = ("provider", "alias", "match", "model")
    list_filter = ("provider", "match")
    search_fields = ("alias", "model")


@admin.register(NegotiatedDiscount)
class NegotiatedDiscountAdmin(admin.ModelAdmin):
    list_display = ("provider", "model", "percent_off", "effective_from", "effective_until", "note")
    list_filter = ("provider",)
