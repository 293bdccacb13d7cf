"""manage.py check_spend: run the budget, forecast and anomaly checks now (beat runs them too)."""

from django.core.management.base import BaseCommand

from apps.budgets.services import spend_check


class Command(BaseCommand):
    help = "Check budgets, forecasts and anomalies now, and raise (and deliver) any new alerts."

    def handle(self, *args, **options):
        alerts = spend_check()
        for alert in alerts:
            self.stdout.write(f"[{alert.kind}] {alert.message}")
        self.stdout.write(f"{len(alerts)} new alert(s).")
