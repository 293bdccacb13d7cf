"""manage.py load_prices: fill the price table from genai-prices' bundled data (no network)."""

from django.core.management.base import BaseCommand

from apps.pricing.services import prices_load_from_package


class Command(BaseCommand):
    help = "Load model prices from the genai-prices package. Existing rows (and admin edits) are kept."

    def handle(self, *args, **options):
        result = prices_load_from_package()
        self.stdout.write(
            f"Prices: {result.created} created, {result.kept} already present; "
            f"{result.aliases_created} model aliases created."
        )
        if result.first_tier_only:
            self.stdout.write(
                "Priced in several long-context tiers, of which the table holds the first (check their "
                f"prices above the second threshold in the admin): {', '.join(result.first_tier_only)}."
            )
