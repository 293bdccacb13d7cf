"""manage.py reattribute: re-resolve the open months' tags after a hand edit of the registry."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.usage.services import events_reattribute


class Command(BaseCommand):
    help = (
        "Re-attribute the open months' events to the registry as it is now (a team, product, environment or tag "
        "alias edited outside the admin changes its row only)."
    )

    def handle(self, *args, **options):
        changed = events_reattribute()
        self.stdout.write(f"{changed} event(s) re-attributed; their days are marked for the next refresh.")
