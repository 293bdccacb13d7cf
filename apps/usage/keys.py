"""Cached lookup of API keys by hash, so authenticating a request costs no query."""

from __future__ import annotations

from dataclasses import dataclass

from attribution_site.snapshots import VersionedSnapshot

from .models import ApiKey, api_key_hash


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    team_id: int
    team_slug: str
    pinned_tags: dict[str, str]
    default_tags: dict[str, str]
    revoked: bool


def _build() -> dict[str, ApiKeyInfo]:
    return {
        key.hashed_key: ApiKeyInfo(
            id=key.id,
            name=key.name,
            team_id=key.team_id,
            team_slug=key.team.slug,
            pinned_tags=dict(key.pinned_tags),
            default_tags=dict(key.default_tags),
            revoked=key.is_revoked,
        )
        for key in ApiKey.objects.select_related("team")
    }


api_keys = VersionedSnapshot("usage-api-keys", _build)
api_keys.invalidate_on_change(ApiKey)


def api_key_lookup(raw_key: str) -> ApiKeyInfo | None:
    return api_keys.get().get(api_key_hash(raw_key))
