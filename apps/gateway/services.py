"""Writes of the gateway: storing provider credentials and draining recorded calls into ingestion."""

from __future__ import annotations

import logging
from collections import defaultdict

import orjson
from django.db import close_old_connections

from apps.org.models import Team
from apps.usage.keys import ApiKeyInfo, api_keys
from apps.usage.models import UsageEvent
from apps.usage.services import events_ingest

from .credentials import credential_encrypt
from .models import ProviderCredential

logger = logging.getLogger(__name__)

EVENTS_LIST = "gateway:events"
DRAIN_LOCK = "gateway:events:drain-lock"


def provider_credential_set(*, provider: str, team: Team | None, raw_key: str) -> ProviderCredential:
    """Store (or replace) the provider key for a team, or for the organisation when `team` is None."""
    credential = ProviderCredential.objects.filter(provider=provider, team=team).first() or ProviderCredential(
        provider=provider, team=team
    )
    credential.encrypted_key = credential_encrypt(raw_key)
    credential.key_hint = raw_key[-4:]
    credential.full_clean()
    credential.save()
    return credential


def gateway_events_ingest(*, calls: list[tuple[ApiKeyInfo, dict]]) -> int:
    """Ingest recorded calls, one batch per API key; returns how many were newly stored."""
    by_key: dict[int, tuple[ApiKeyInfo, list[dict]]] = {}
    for key, event in calls:
        by_key.setdefault(key.id, (key, []))[1].append(event)
    close_old_connections()
    stored = 0
    for key, events in by_key.values():
        result = events_ingest(key=key, events=events, source=UsageEvent.Source.GATEWAY)
        stored += result.accepted
        for rejected in result.rejected:
            logger.error("Gateway event rejected by ingestion: %s", rejected)
    return stored


def gateway_events_drain(*, client, batch: int = 500, lock_seconds: int = 60) -> int:
    """Move recorded calls from the Redis list into the database, `batch` at a time.

    The list is read, ingested and only then trimmed, under a lock so two drainers never trim
    each other's unread entries; a drainer killed between ingesting and trimming leaves entries
    that the next drain ingests again, which stores nothing twice (idempotent by event_id)."""
    if not client.set(DRAIN_LOCK, "1", nx=True, ex=lock_seconds):
        return 0
    stored = 0
    try:
        while True:
            entries = client.lrange(EVENTS_LIST, 0, batch - 1)
            if not entries:
                break
            keys_by_id = {info.id: info for info in api_keys.get().values()}
            calls: list[tuple[ApiKeyInfo, dict]] = []
            dropped: dict[int, int] = defaultdict(int)
            for entry in entries:
                call = orjson.loads(entry)
                key = keys_by_id.get(call["key_id"])
                if key is None:
                    dropped[call["key_id"]] += 1
                else:
                    calls.append((key, call["event"]))
            for key_id, count in dropped.items():
                logger.error("Dropped %d gateway events of API key %s, which no longer exists", count, key_id)
            stored += gateway_events_ingest(calls=calls)
            client.ltrim(EVENTS_LIST, len(entries), -1)
            client.expire(DRAIN_LOCK, lock_seconds)
    finally:
        client.delete(DRAIN_LOCK)
    return stored
