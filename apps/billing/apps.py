"""App config for provider bills and reconciliation."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Provider bills and reconciliation"
