"""Email each team's leads their top three savings opportunities."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.insights.services import savings_digest_send


class Command(BaseCommand):
    help = "Email each team's leads their three largest savings opportunities."

    def handle(self, *args, **options):
        self.stdout.write(f"{savings_digest_send()} digests sent.")
