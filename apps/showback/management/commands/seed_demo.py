"""manage.py seed_demo [--days N] [--scale F] [--seed S] [--if-empty]: build the demo company (never in production)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.showback.demo import (
    DEFAULT_SEED,
    DemoDataError,
    demo_company_build,
    demo_logins_ensure,
    demo_logins_existing,
    var_password,
)
from apps.usage.models import UsageEvent


class Command(BaseCommand):
    help = (
        "Build a demo company (teams, products, customers, agents, shared-cost rules) with days of usage "
        "sent through ingestion, its rollups and allocations, and demo logins; print the logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="Days of usage ending now (default 90).")
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply the call volumes (default 1.0).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed (same seed, same data).")
        parser.add_argument("--if-empty", action="store_true", help="Build nothing if any usage event exists.")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the logins are used (printed).")

    def handle(self, *args, days, scale, seed, if_empty, url, **options):
        self.url = url
        if settings.PRODUCTION:
            raise CommandError("seed_demo is for local development and demos, not production.")
        # The admin password is dev_login's file, so the two commands always print the same login.
        passwords = {"password": var_password("demo_password"), "admin_password": var_password("admin_password")}
        if if_empty and UsageEvent.objects.exists():
            self.stdout.write("Usage events exist already: the demo company was not built.")
            self._logins_write(demo_logins_existing(**passwords))
            return
        started = time.monotonic()
        try:
            summary = demo_company_build(days=days, seed=seed, scale=scale)
        except (ValueError, DemoDataError) as exc:
            raise CommandError(str(exc)) from exc
        logins = demo_logins_ensure(**passwords)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company: {summary.events_accepted:,} events stored ({summary.events_duplicate:,} already "
                f"present) over {summary.first_day} – {summary.last_day}, "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
        self.stdout.write(
            f"Billed spend ${summary.billed_cost:,.2f}, of which unattributed ${summary.unattributed_cost:,.2f}."
        )
        self._logins_write(logins)

    def _logins_write(self, logins):
        if not logins:
            return
        width = max(len(login.username) for login in logins)
        self.stdout.write(f"\nDemo logins ({self.url}):")
        for login in logins:
            self.stdout.write(f"  {login.username:<{width}}  {login.password}  {login.access}")
