"""App config for shared-cost allocation."""

from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "apps.allocation"
    label = "allocation"
    verbose_name = "Shared-cost allocation"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
