"""App config for usage."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _partitions_after_migrate(sender, using="default", **kwargs) -> None:
    """`migrate` leaves the coming months' event partitions in place (PostgreSQL)."""
    from .partitions import forget_known, partitions_create_ahead

    forget_known()
    partitions_create_ahead()


class UsageConfig(AppConfig):
    name = "apps.usage"
    label = "usage"

    def ready(self) -> None:
        from . import keys  # noqa: F401  (connect snapshot invalidation)

        post_migrate.connect(_partitions_after_migrate, sender=self, dispatch_uid="usage-partitions-ahead")
