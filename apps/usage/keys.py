"""Cached lookup of API keys by hash, so authenticating a request costs no query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.utils import timezone

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
    revoked_at: datetime | None
    expires_at: datetime | None
    chargeable_teams: tuple[str, ...] = ()  # slugs of the other teams an unpinned key may charge
    provider_scopes: dict[str, str] | None = None  # provider → the scope its traffic bills to

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyInfo:
        return cls(
            id=key.id,
            name=key.name,
            team_id=key.team_id,
            team_slug=key.team.slug,
            pinned_tags=dict(key.pinned_tags),
            default_tags=dict(key.default_tags),
            revoked_at=key.revoked_at,
            expires_at=key.expires_at,
            chargeable_teams=tuple(team.slug for team in key.chargeable_teams.all()),
            provider_scopes=dict(key.provider_scopes),
        )

    @property
    def refusal(self) -> str | None:
        """Why the key may not be used now (revoked, expired), or None."""
        now = timezone.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return "This API key has been revoked."
        if self.expires_at is not None and self.expires_at <= now:
            return "This API key has expired."
        return None

    @property
    def revoked(self) -> bool:
        return self.refusal is not None


def _build() -> dict[str, ApiKeyInfo]:
    return {
        key.hashed_key: ApiKeyInfo.of(key)
        for key in ApiKey.objects.select_related("team").prefetch_related("chargeable_teams")
    }


# Rebuilt at least every API_KEY_SNAPSHOT_SECONDS, so a key revoked by any means (a bulk update,
# plain SQL) stops working within that long in every process, with no query per request.
api_keys = VersionedSnapshot("usage-api-keys", _build, max_age=settings.API_KEY_SNAPSHOT_SECONDS)
api_keys.invalidate_on_change(ApiKey)


def _chargeable_teams_changed(**kwargs) -> None:
    # `.add()`/`.set()` on the many-to-many send m2m_changed, not post_save.
    api_keys.invalidate()
    transaction.on_commit(api_keys.invalidate)


m2m_changed.connect(
    _chargeable_teams_changed, sender=ApiKey.chargeable_teams.through, dispatch_uid="usage-api-keys:chargeable"
)


def api_key_lookup(raw_key: str) -> ApiKeyInfo | None:
    return api_keys.get().get(api_key_hash(raw_key))
