"""Import a FOCUS 1.0–1.2 cloud bill (CSV, gzip CSV or Parquet): its AI services' rows."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.billing.focus_import import FocusImportError, billing_import
from apps.billing.tasks import refresh_dirty_days_later


class Command(BaseCommand):
    help = "Import a FOCUS export (AWS Data Exports, Azure Cost Management, Google Cloud); re-importing replaces."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        with path.open("rb") as stream:
            try:
                imported = billing_import(stream=stream, file_name=path.name)
            except FocusImportError as exc:
                raise CommandError(str(exc)) from exc
        refresh_dirty_days_later()
        self.stdout.write(
            f"{path.name}: kept {imported.rows_kept} of {imported.rows_read} rows "
            f"({imported.period_start}..{imported.period_end})"
        )
