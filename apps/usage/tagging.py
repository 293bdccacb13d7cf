"""Resolving an event's tags against the registry: one place for ingestion and the gateway's refusals."""

from __future__ import annotations

from dataclasses import dataclass

from apps.org.registry import Registry
from apps.org.tags import normalize_tag

from .keys import ApiKeyInfo


@dataclass(frozen=True, slots=True)
class ResolvedTags:
    """Tag values as stored (team, product and environment as normalized tags, the rest in their
    canonical spelling), the registry rows they resolve to, and the tags the policy misses."""

    values: dict[str, str]
    environment: str  # the canonical environment slug, which the tag policy is keyed by
    team_id: int | None
    product_id: int | None
    environment_id: int | None
    missing: list[str]


def tags_resolve(*, key: ApiKeyInfo, sent: dict[str, str], reg: Registry) -> ResolvedTags:
    """The key's defaults fill gaps and its pins always win; then normalization, aliases and the
    tag policy of the environment."""
    tags = {**key.default_tags, **sent, **key.pinned_tags}
    team = normalize_tag(tags.get("team", ""))
    product = normalize_tag(tags.get("product", ""))
    environment = normalize_tag(tags.get("environment", ""))
    # Customer ids keep their case (they are another system's keys); aliases still match loosely.
    customer = tags.get("customer", "").strip()
    values = {
        "team": team,
        "product": product,
        "environment": environment,
        "feature": reg.canonical("feature", normalize_tag(tags.get("feature", ""))),
        "customer": reg.aliases.get("customer", {}).get(normalize_tag(customer), customer),
        "agent": reg.canonical("agent", normalize_tag(tags.get("agent", ""))),
        "trace_id": tags.get("trace_id", ""),
    }
    environment_slug = reg.canonical("environment", environment)
    return ResolvedTags(
        values=values,
        environment=environment_slug,
        team_id=reg.team_ids.get(reg.canonical("team", team)),
        product_id=reg.product_ids.get(reg.canonical("product", product)),
        environment_id=reg.environment_ids.get(environment_slug),
        missing=[t for t in reg.required_tags_for(environment_slug) if not values[t]],
    )
