"""manage.py archive_events --before YYYY-MM: each closed month before it to Parquet, then out of the database."""

from __future__ import annotations

import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.usage.archive import ArchiveError, month_archive
from apps.usage.models import ArchivedMonth, ClosedMonth
from apps.usage.selectors import next_month


def _month(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}", value):
        raise CommandError(f"--before: {value!r} is not a month: use YYYY-MM.")
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise CommandError(f"--before: {value!r} is not a month: use YYYY-MM.") from exc


class Command(BaseCommand):
    help = (
        "Archive the raw events of every closed month before --before: one zstd Parquet file per month "
        "with its manifest (rows, billed cost, SHA-256) in ARCHIVE_DIR or ARCHIVE_URL, read back and "
        "checked, then the month's events removed. Rollups, allocations and pages stay as they were."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="Archive closed months before this one (YYYY-MM).")

    def handle(self, *args, before: str, **options):
        limit = _month(before)
        closed = list(ClosedMonth.objects.filter(month__lt=limit).order_by("month").values_list("month", flat=True))
        archived = set(ArchivedMonth.objects.values_list("month", flat=True))
        first = min([*closed, *archived], default=limit)
        month = first
        while month < limit:
            if month in archived:
                self.stdout.write(f"{month:%Y-%m}: archived already.")
            elif month not in closed:
                self.stdout.write(f"{month:%Y-%m}: open, left in the database (close it to archive it).")
            else:
                try:
                    done = month_archive(month=month)
                except ArchiveError as exc:
                    raise CommandError(exc.messages[0]) from exc
                self.stdout.write(
                    f"{month:%Y-%m}: {done.rows} events, billed ${done.billed_cost:f}, to {done.location} "
                    f"(SHA-256 {done.sha256})."
                )
            month = next_month(month)
