"""Writes of the gateway: storing provider credentials and draining recorded calls into ingestion."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import date

import orjson
from django.conf import settings
from django.db import close_old_connections, connection

from apps.org.models import Team
from apps.usage.keys import ApiKeyInfo, api_keys
from apps.usage.models import ApiKey, UsageEvent
from apps.usage.services import events_ingest

from .credentials import credential_encrypt
from .models import ModelRuleHit, ProviderCredential

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


def model_rule_hits_add(*, hits: dict[tuple[int, int, date, str], int]) -> None:
    """Add counted hits {(rule id, team id, day, outcome): calls} to ModelRuleHit, in one statement
    that every gateway process may run at once (an upsert that adds to the stored count)."""
    if not hits:
        return
    table = connection.ops.quote_name(ModelRuleHit._meta.db_table)
    rows = [(rule_id, team_id, day, outcome, count) for (rule_id, team_id, day, outcome), count in hits.items()]
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (rule_id, team_id, day, outcome, count) VALUES (%s, %s, %s, %s, %s) "
            f"ON CONFLICT (rule_id, team_id, day, outcome) DO UPDATE SET count = {table}.count + EXCLUDED.count",
            rows,
        )


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


# The drain lock is owned: its value is the holder's token, and the list is trimmed (and the lock
# renewed or released) only by these scripts, which check the token in the same step.
_TRIM_IF_OWNER = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('ltrim', KEYS[2], ARGV[2], -1)
redis.call('pexpire', KEYS[1], ARGV[3])
return 1
"""
_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def gateway_events_drain(*, client, batch: int = 500, lock_seconds: float | None = None) -> int:
    """Move recorded calls from the Redis list into the database, `batch` at a time.

    Under the drain lock, the head of the list is read, ingested and only then trimmed. Why no
    entry is ever dropped: an entry leaves the list only by a trim of the entries its drainer
    read, made while that drainer held the lock without a break since it took it (the token
    check in _TRIM_IF_OWNER; nobody else sets that token). A drainer whose lock lapsed mid-batch
    (a stall, a slow database) trims nothing. While it holds the lock nobody else trims and
    calls are only appended, so the head it trims is exactly what it read and ingested. A
    drainer killed between ingesting and trimming leaves entries that the next drain ingests
    again, which stores nothing twice (idempotent by event_id); its lock lapses after
    `lock_seconds` (GATEWAY_DRAIN_LOCK_SECONDS)."""
    token = uuid.uuid4().hex
    lock_ms = int((lock_seconds or settings.GATEWAY_DRAIN_LOCK_SECONDS) * 1000)
    if not client.set(DRAIN_LOCK, token, nx=True, px=lock_ms):
        return 0
    stored = 0
    try:
        while True:
            entries = client.lrange(EVENTS_LIST, 0, batch - 1)
            if not entries:
                break
            stored += gateway_events_ingest(calls=_calls_of(entries))
            if not client.eval(_TRIM_IF_OWNER, 2, DRAIN_LOCK, EVENTS_LIST, token, len(entries), lock_ms):
                logger.warning("The gateway drain lock lapsed during a batch; another drainer goes on")
                break
    finally:
        client.eval(_RELEASE_IF_OWNER, 1, DRAIN_LOCK, token)
    return stored


def _calls_of(entries: list[bytes]) -> list[tuple[ApiKeyInfo, dict]]:
    close_old_connections()  # the drain runs in worker threads that outlive their connections
    recorded = [orjson.loads(entry) for entry in entries]
    keys_by_id = {info.id: info for info in api_keys.get().values()}
    # A key newer than this process's snapshot is read from the database, not taken for deleted.
    unknown = {call["key_id"] for call in recorded} - keys_by_id.keys()
    for key in ApiKey.objects.filter(id__in=unknown).select_related("team"):
        keys_by_id[key.id] = ApiKeyInfo.of(key)
    calls: list[tuple[ApiKeyInfo, dict]] = []
    dropped: dict[int, int] = defaultdict(int)
    for call in recorded:
        key = keys_by_id.get(call["key_id"])
        if key is None:
            dropped[call["key_id"]] += 1
        else:
            calls.append((key, call["event"]))
    for key_id, count in dropped.items():
        logger.error("Dropped %d gateway events of API key %s, which no longer exists", count, key_id)
    return calls
