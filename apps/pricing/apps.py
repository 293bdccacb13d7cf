"""App config for pricing."""

from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "apps.pricing"
    label = "pricing"

    def ready(self) -> None:
        from . import rating  # noqa: F401  (connects snapshot invalidation)
