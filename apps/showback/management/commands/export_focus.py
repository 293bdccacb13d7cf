"""Write a month as FOCUS 1.2 CSV to stdout or a file."""

from __future__ import annotations

import csv
import re
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.showback.focus import focus_rows


class Command(BaseCommand):
    help = "Export a month as FOCUS 1.2 CSV (usage rows and shared-cost allocations)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--output", help="File to write; default stdout.")

    def handle(self, *args, month: str, output: str | None, **options):
        if not re.fullmatch(r"[1-9]\d{3}-(0[1-9]|1[0-2])", month):
            raise CommandError(f"--month: {month!r} is not a month; use YYYY-MM.")
        start = date(int(month[:4]), int(month[5:]), 1)
        stream = open(output, "w", newline="") if output else sys.stdout  # noqa: SIM115
        try:
            writer = csv.writer(stream)
            for row in focus_rows(month_start=start):
                writer.writerow(row)
        finally:
            if output:
                stream.close()
