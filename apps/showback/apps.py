"""App config for showback pages."""

from django.apps import AppConfig


class ShowbackConfig(AppConfig):
    name = "apps.showback"
    label = "showback"
