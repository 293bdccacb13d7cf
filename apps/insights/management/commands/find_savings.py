"""Run the savings detectors now."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.insights.services import opportunities_refresh


class Command(BaseCommand):
    help = "Run every savings detector over the last 28 days and store the opportunities found."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Judge as of this day (YYYY-MM-DD); default today.")

    def handle(self, *args, today=None, **options):
        try:
            day = date.fromisoformat(today) if today else None
        except ValueError as exc:
            raise CommandError("--today: use YYYY-MM-DD.") from exc
        found = opportunities_refresh(today=day)
        total = sum(o.monthly_saving for o in found)
        self.stdout.write(f"{len(found)} opportunities, ${total:.2f} a month.")
