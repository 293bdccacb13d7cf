"""manage.py rollup [--since DATE] [--until DATE]: refresh rollups, then allocations, now."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.allocation.services import day_refresh, days_in_range
from apps.rollups.services import dirty_days


class Command(BaseCommand):
    help = "Rebuild daily rollups and shared-cost allocations: the dirty days, or every day from --since."

    def add_arguments(self, parser):
        parser.add_argument("--since", type=date.fromisoformat, help="First day to rebuild (YYYY-MM-DD).")
        parser.add_argument("--until", type=date.fromisoformat, help="Last day (default: today, UTC).")

    def handle(self, *args, since=None, until=None, **options):
        if since is None and until is not None:
            raise CommandError("--until needs --since.")
        days = dirty_days() if since is None else days_in_range(since, until or timezone.now().date())
        for day in days:
            day_refresh(day=day)
        self.stdout.write(f"Refreshed {len(days)} day(s).")
