"""Pull a provider's cost and usage reports for a range of days and replace those days' lines."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.billing.models import ProviderAccount
from apps.billing.pulls import ProviderPullError
from apps.billing.services import account_sync, accounts_from_environment
from apps.billing.tasks import refresh_dirty_days_later


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date: use YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = "Pull Anthropic or OpenAI admin cost and usage reports (re-pulling replaces those days)."

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=ProviderAccount.Provider.values)
        parser.add_argument("--since", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--until", help="Last day (inclusive), YYYY-MM-DD; default today.")

    def handle(self, *args, provider: str, since: str, until: str | None, **options):
        start = _day(since)
        end = _day(until) if until else timezone.now().date()
        if end < start:
            raise CommandError("--until must not be before --since.")
        accounts_from_environment()
        accounts = list(ProviderAccount.objects.filter(provider=provider, is_active=True))
        if not accounts:
            raise CommandError(f"No active {provider} account: add one in the admin or set the environment key.")
        failed = []
        for account in accounts:
            try:
                costs, usage = account_sync(account=account, start=start, end=end)
            except ProviderPullError as exc:
                failed.append(f"{account}: {exc}")
                continue
            self.stdout.write(f"{account}: {costs} cost rows, {usage} usage rows for {start}..{end}")
        refresh_dirty_days_later()
        if failed:
            raise CommandError("; ".join(failed))
