"""App config for the registry."""

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "apps.org"
    label = "org"
    verbose_name = "Registry"

    def ready(self) -> None:
        from . import registry  # noqa: F401  (connects snapshot invalidation)
