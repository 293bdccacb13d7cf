"""manage.py close_month YYYY-MM: refresh a month that has ended, then freeze its figures."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.closing.selectors import month_totals
from apps.closing.services import month_close, today_utc
from apps.pricing.money import usd_exact
from attribution_site.periods import MonthPeriod


class Command(BaseCommand):
    help = "Close a month: its rollups and allocations stop changing; its late events go to the next open month."

    def add_arguments(self, parser):
        parser.add_argument("month", help="The month to close, YYYY-MM.")

    def handle(self, *args, month: str, **options):
        today = today_utc()
        try:
            period = MonthPeriod.parse(month, today=today)
            closed = month_close(month=period.month_start, today=today)
        except (ValueError, ValidationError) as exc:
            raise CommandError(exc.messages[0] if isinstance(exc, ValidationError) else str(exc)) from exc
        totals = month_totals(closed.month)
        billed, allocated = usd_exact(totals.billed), usd_exact(totals.allocated)
        self.stdout.write(f"Closed {closed}: billed {billed}, allocated shared costs {allocated}.")
