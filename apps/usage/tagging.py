"""Resolving an event's tags against the registry: one place for ingestion, OTLP and the gateway's refusals.

It also holds the team rule: a key charges only the teams it may (its pinned team; else its own
team and the teams listed as chargeable on it), and names only products of the team it charges.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.org.registry import Registry
from apps.org.tags import TAGS, Tag, normalize_tag

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
    # The team the call is charged to (its team tag, else its product's team, else the key's), whose
    # budgets it draws on and whose provider credential the gateway uses; None for an unknown team.
    charged_team_id: int | None
    # Tags the key may not use, each with why: the gateway refuses the call, ingestion the event.
    forbidden: dict[str, str]


def tags_resolve(*, key: ApiKeyInfo, sent: dict[str, str], reg: Registry) -> ResolvedTags:
    """The key's defaults fill gaps and its pins always win; then normalization, aliases and the
    tag policy of the environment."""
    tags = {**key.default_tags, **sent, **key.pinned_tags}
    values = {name: _value(name, spec, tags.get(name, ""), reg) for name, spec in TAGS.items()}
    team, product, environment = values["team"], values["product"], values["environment"]
    environment_slug = reg.canonical("environment", environment)
    team_id = reg.team_ids.get(reg.canonical("team", team))
    product_id = reg.product_ids.get(reg.canonical("product", product))
    charged_team_id, forbidden = _team_rule(key=key, reg=reg, team=team, product=product, product_id=product_id)
    return ResolvedTags(
        values=values,
        environment=environment_slug,
        team_id=team_id,
        product_id=product_id,
        environment_id=reg.environment_ids.get(environment_slug),
        missing=[t for t in reg.required_tags_for(environment_slug) if not values[t]],
        charged_team_id=charged_team_id,
        forbidden=forbidden,
    )


def _value(name: str, spec: Tag, sent: str, reg: Registry) -> str:
    """A tag's value as stored. Registry tags stay normalized as sent: the foreign key holds what
    they resolve to, and a later alias or registration re-attributes them."""
    if spec.kind == "opaque":
        return sent
    if spec.kind == "id":  # another system's key keeps its case; aliases still match it loosely
        value = sent.strip()
        return reg.aliases.get(name, {}).get(normalize_tag(value), value)
    value = normalize_tag(sent)
    return value if spec.registry else reg.canonical(name, value)


def _team_rule(
    *, key: ApiKeyInfo, reg: Registry, team: str, product: str, product_id: int | None
) -> tuple[int | None, dict[str, str]]:
    """(the charged team's id, the forbidden tags with why) of a call's normalized team and product.

    A registered team must be one the key may charge; a registered product must belong to the
    team charged (or, without a registered team, to one the key may charge). A team tag nobody
    registered charges no team: the event is stored unattributed, as ever, until the team is
    registered or aliased; meanwhile the gateway holds the call to the key's own team's budgets.
    """
    pinned = normalize_tag(key.pinned_tags.get("team", ""))
    allowed = {reg.canonical("team", pinned)} if pinned else {key.team_slug, *key.chargeable_teams}
    team_slug = reg.canonical("team", team)
    team_id = reg.team_ids.get(team_slug) if team else None
    product_team_id = reg.product_teams.get(product_id) if product_id is not None else None
    may_charge = ", ".join(sorted(allowed))
    forbidden: dict[str, str] = {}
    if team_id is not None and team_slug not in allowed:
        forbidden["team"] = f"This API key may not charge team '{team_slug}' (it may charge: {may_charge})."
    if product_team_id is not None:
        owner = reg.team_slug(product_team_id)
        if team_id is not None and product_team_id != team_id:
            forbidden["product"] = (
                f"Product '{product}' belongs to team '{owner}', "
                f"not to team '{team_slug}' that this call is charged to."
            )
        elif team_id is None and owner not in allowed:
            forbidden["product"] = (
                f"Product '{product}' belongs to team '{owner}', which this API key may not charge "
                f"(it may charge: {may_charge})."
            )
    if team_id is not None:
        return team_id, forbidden
    if product_team_id is not None:
        return product_team_id, forbidden
    return (reg.team_ids.get(reg.canonical("team", pinned)) if pinned else key.team_id), forbidden
