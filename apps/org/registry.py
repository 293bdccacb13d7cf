"""Tag normalization against a cached snapshot of the registry (teams, products, aliases, policy)."""

from __future__ import annotations

from dataclasses import dataclass

from attribution_site.snapshots import VersionedSnapshot

from .models import Environment, Product, TagAlias, TagPolicy, Team
from .tags import normalize_tag


@dataclass(frozen=True)
class Registry:
    team_ids: dict[str, int]
    product_ids: dict[str, int]
    product_teams: dict[int, int]  # product id → the id of the team that owns it
    environment_ids: dict[str, int]
    aliases: dict[str, dict[str, str]]
    required_tags: dict[str, tuple[str, ...]]

    def required_tags_for(self, environment: str) -> tuple[str, ...]:
        """The tags an event in `environment` must carry. An event naming no environment could be
        production, so it is held to every policy's tags at once (environment included)."""
        if environment:
            return self.required_tags.get(environment, ())
        return tuple(sorted({tag for tags in self.required_tags.values() for tag in tags}))

    def team_slug(self, team_id: int) -> str:
        return next((slug for slug, id_ in self.team_ids.items() if id_ == team_id), "")

    def canonical(self, dimension: str, value: str) -> str:
        """The registered value a normalized tag stands for (itself unless an alias says otherwise)."""
        return self.aliases.get(dimension, {}).get(value, value)


def _build() -> Registry:
    aliases: dict[str, dict[str, str]] = {}
    for dimension, alias, target in TagAlias.objects.values_list("dimension", "alias", "target"):
        aliases.setdefault(dimension, {})[normalize_tag(alias)] = target
    return Registry(
        team_ids=dict(Team.objects.values_list("slug", "id")),
        product_ids=dict(Product.objects.values_list("slug", "id")),
        product_teams=dict(Product.objects.values_list("id", "team_id")),
        environment_ids=dict(Environment.objects.values_list("slug", "id")),
        aliases=aliases,
        required_tags={
            slug: tuple(tags) for slug, tags in TagPolicy.objects.values_list("environment__slug", "required_tags")
        },
    )


registry = VersionedSnapshot("org-registry", _build)
registry.invalidate_on_change(Team, Product, Environment, TagAlias, TagPolicy)
