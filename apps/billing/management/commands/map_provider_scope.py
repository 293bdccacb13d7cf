"""Map a provider scope (workspace, project, API key id, sub-account or key=value tag) to a team."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.billing.services import scope_map
from apps.org.models import Product, Team


class Command(BaseCommand):
    help = "Map a provider's workspace, project, API key id, cloud sub-account or key=value tag to a team."

    def add_arguments(self, parser):
        parser.add_argument("provider", help="anthropic, openai, aws.bedrock, gcp.vertex_ai, azure.ai.openai, …")
        parser.add_argument("scope")
        parser.add_argument("--team", required=True, help="Team slug.")
        parser.add_argument("--product", help="Product slug (a product of that team).")

    def handle(self, *args, provider: str, scope: str, team: str, product: str | None, **options):
        found = Team.objects.filter(slug=team).first()
        if found is None:
            raise CommandError(f"--team: no team with slug {team!r}.")
        product_row = None
        if product:
            product_row = Product.objects.filter(slug=product, team=found).first()
            if product_row is None:
                raise CommandError(f"--product: team {team!r} has no product with slug {product!r}.")
        if not scope.strip():
            raise CommandError("SCOPE must not be empty.")
        scope_map(provider=provider, scope=scope, team=found, product=product_row)
        self.stdout.write(f"{provider} {scope} → {team}{f' / {product}' if product else ''}")
