"""manage.py rerate --since YYYY-MM-DD: re-price stored events after a hand edit of the price table."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.closing.changes import history_rerate
from apps.usage.models import RerateRun, UsageEvent


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since: {value!r} is not a date: use YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = (
        "Re-price events from --since at today's price table (a price, discount or alias edited outside the "
        "admin changes its row only). Closed months stay as they were unless --rewrite-closed-months."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="First day to re-price (YYYY-MM-DD, UTC).")
        parser.add_argument("--provider", help="One provider (default: every provider with events since then).")
        parser.add_argument("--model", default="", help="One model of --provider (default: all).")
        parser.add_argument("--rewrite-closed-months", action="store_true", help="Reopen closed months, on record.")
        parser.add_argument("--reason", default="", help="Why (required with --rewrite-closed-months).")

    def handle(self, *args, since: str, provider, model: str, rewrite_closed_months: bool, reason: str, **options):
        start = datetime.combine(_day(since), time.min, tzinfo=UTC)
        if model and not provider:
            raise CommandError("--model needs --provider.")
        providers = (
            [provider]
            if provider
            else sorted(UsageEvent.objects.filter(timestamp__gte=start).values_list("provider", flat=True).distinct())
        )
        runs = []
        try:
            with transaction.atomic():  # the runs are queued once they are recorded
                for name in providers:
                    runs.append(
                        history_rerate(
                            change=f"manage.py rerate --since {since}" + (f": {reason}" if reason else ""),
                            provider=name,
                            model=model,
                            start=start,
                            rewrite_closed_months=rewrite_closed_months and not runs,  # reopen once
                            reason=reason,
                        )
                    )
        except ValidationError as exc:
            raise CommandError(f"--reason: {exc.messages[0]}") from exc
        for run in RerateRun.objects.filter(pk__in=[r.pk for r in runs]).order_by("provider"):
            what = f"Re-rating run {run.pk} ({run.provider}{'/' + run.model if run.model else ''} from {since})"
            if run.status == RerateRun.Status.PENDING:  # a worker takes it (admin → Re-rating runs)
                self.stdout.write(f"{what}: queued.")
            else:
                self.stdout.write(f"{what}: {run.status}, {run.events_changed} event(s) re-priced.")
        if not runs:
            self.stdout.write(f"No events since {since}: nothing to re-price.")
