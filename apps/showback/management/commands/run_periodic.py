"""manage.py run_periodic: run beat's schedule in this process, for the embedded default (`make run`)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from attribution_site.periodic import PeriodicRunner


class Command(BaseCommand):
    help = "Run the periodic tasks (spend checks, refreshes) in-process, as beat and a worker would."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run what is due now, then stop.")
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between looks at the schedule.")

    def handle(self, *args, once=False, tick=5.0, verbosity=1, **options):
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("A broker is configured: run `celery -A attribution_site worker --beat` instead.")
        runner = PeriodicRunner(settings.CELERY_BEAT_SCHEDULE, now=timezone.now())
        while True:
            ran = runner.run_due(now=timezone.now())
            if ran and (once or verbosity > 1):  # `make run` stays quiet: some entries run every few seconds
                self.stdout.write(f"Ran {', '.join(ran)}.")
            if once:
                return
            time.sleep(tick)
