"""Admin for prices, model aliases and negotiated discounts."""

from django.contrib import admin

from .models import ModelAlias, ModelPrice, NegotiatedDiscount


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "provider",
        "model",
        "effective_from",
        "input_per_mtok",
        "output_per_mtok",
        "cache_read_per_mtok",
        "cache_write_per_mtok",
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
