"""App config for the gateway."""

from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "apps.gateway"
    label = "gateway"

    def ready(self) -> None:
        from . import credentials  # noqa: F401  (connect the credentials snapshot's invalidation)
