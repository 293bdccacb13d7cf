"""manage.py restore_events FILE: bring an archived month's events back from its Parquet file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.usage.archive import ArchiveError, month_restore


class Command(BaseCommand):
    help = (
        "Restore an archived month's events exactly from FILE (a path, a URL under ARCHIVE_URL, or the file "
        "name alone, looked for in ARCHIVE_URL or ARCHIVE_DIR), after checking it against its manifest. The "
        "month stays closed; reopen it afterwards to rewrite it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            help="The month's .parquet file as archive_events reported it, or its name (events-YYYY-MM.parquet).",
        )

    def handle(self, *args, file: str, **options):
        try:
            archived = month_restore(location=file)
        except ArchiveError as exc:
            raise CommandError(exc.messages[0]) from exc
        self.stdout.write(f"{archived.month:%Y-%m}: {archived.rows} events restored, billed ${archived.billed_cost:f}.")
