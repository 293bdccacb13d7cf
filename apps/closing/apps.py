"""App config for month close."""

from django.apps import AppConfig


class ClosingConfig(AppConfig):
    name = "apps.closing"
    label = "closing"
    verbose_name = "Month close"
