"""manage.py close_month YYYY-MM [--force --reason …]: check, refresh and freeze a month that has ended."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.closing.models import MonthClose
from apps.closing.selectors import month_totals
from apps.closing.services import MonthAlreadyClosed, MonthNotReady, month_close_reviewed, today_utc
from apps.pricing.money import usd_exact
from attribution_site.periods import MonthPeriod


class Command(BaseCommand):
    help = (
        "Close a month: its rollups and allocations stop changing; its late events go to the next open month. "
        "Open checklist items (unpriced events, providers without a bill, unmapped scopes, open reconciliation "
        "anomalies, unallocated spend) stop the close unless --force, which is recorded with --reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="The month to close, YYYY-MM.")
        parser.add_argument("--force", action="store_true", help="Close past open items (recorded).")
        parser.add_argument("--reason", default="", help="Why the close goes past open items (required with --force).")

    def handle(self, *args, month: str, force: bool, reason: str, **options):
        today = today_utc()
        try:
            period = MonthPeriod.parse(month, today=today)
            close = month_close_reviewed(
                month=period.month_start, today=today, via=MonthClose.Via.COMMAND, force=force, reason=reason
            )
        except MonthAlreadyClosed as exc:  # not an error: the first close stands
            self.stdout.write(exc.messages[0] + " Nothing changed.")
            return
        except MonthNotReady as exc:
            items = "\n".join(f"  - {item}" for item in exc.items)
            raise CommandError(
                f"{period.key} has open items:\n{items}\nResolve them, or close anyway with --force --reason '…'."
            ) from exc
        except ValidationError as exc:
            prefix = "--reason: " if hasattr(exc, "error_dict") else ""
            raise CommandError(prefix + exc.messages[0]) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        totals = month_totals(close.month)
        billed, allocated = usd_exact(totals.billed), usd_exact(totals.allocated)
        self.stdout.write(f"Closed {close.month:%Y-%m}: billed {billed}, allocated shared costs {allocated}.")
        if close.forced:
            self.stdout.write(
                f"Forced past {len(close.open_items.splitlines())} open item(s), recorded: {close.reason}"
            )
