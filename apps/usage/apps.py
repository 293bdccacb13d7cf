"""App config for usage."""

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "apps.usage"
    label = "usage"

    def ready(self) -> None:
        from . import keys  # noqa: F401  (connect snapshot invalidation)
