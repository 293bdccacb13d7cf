"""Ingesting events: validate, tag, rate and store a batch idempotently; creating API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.org.models import Team
from apps.org.registry import Registry, registry
from apps.org.selectors import user_may_create_api_key
from apps.org.tags import PLAIN_TAGS, TAGS, normalize_tag, raw_tags_sent, raw_tags_stored, tag_column
from apps.pricing.fields import to_nanos
from apps.pricing.rating import Catalog, catalog, event_rate
from apps.usage.event import FIELDS, STRING_FIELDS, Event, echo, event_validate, event_values
from apps.usage.keys import ApiKeyInfo, api_keys
from apps.usage.models import ApiKey, EventKey, UsageEvent
from apps.usage.tagging import tags_resolve

from .closing import late_events_store
from .storage import COLUMNS, events_store


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # An event_id sent again with a different payload: the stored event wins, the fields differ.
    conflicts: list[dict[str, Any]] = field(default_factory=list)


# Event fields stored in a column of their own name (tags are resolved first: apps.usage.tagging).
SAME_NAMED = tuple(f.name for f in FIELDS if f.name not in TAGS)
# What a client sent, as the idempotency key stands for it: a resend must match these fields and
# the tags as sent (`raw_tags`).
COMPARED = tuple(name for name in SAME_NAMED if name != "event_id")
REGISTRY_TAGS = tuple(name for name in TAGS if name not in PLAIN_TAGS)


def _differences(sent: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """The event fields in which a resend differs from what is stored (tags by their own names)."""
    fields = [name for name in COMPARED if sent[name] != stored[name]]
    tags_sent, tags_stored = sent["raw_tags"], stored["raw_tags"]
    fields += sorted(t for t in tags_sent.keys() | tags_stored.keys() if tags_sent.get(t) != tags_stored.get(t))
    return fields


class EventRejected(Exception):
    """An event that passed validation but cannot be stored as tagged; rejected on its own."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors


def _check_stored_lengths(values: dict[str, str]) -> None:
    """Normalizing can lengthen a value (`İ` lowercases to two characters), so the column limits
    are checked again on what is stored."""
    errors = {
        name: [f"Normalizes to {len(value)} characters ({value[:20]!r}…); at most {STRING_FIELDS[name]}."]
        for name, value in values.items()
        if len(value) > STRING_FIELDS[name]
    }
    if errors:
        raise EventRejected(errors)


def _event_row(
    event: Event, *, key: ApiKeyInfo, reg: Registry, prices: Catalog, received_at: datetime, source: str, ops
) -> tuple[tuple, dict[str, Any]]:
    """The stored row of one event (its tags normalized and resolved, its cost rated), and its
    payload. Defaults fill the key's gaps; its pins always win."""
    provider = reg.canonical("provider", normalize_tag(event.provider))
    timestamp = event.timestamp.astimezone(UTC)
    rating = event_rate(
        provider=provider,
        model=event.model,
        timestamp=timestamp,
        tokens=event.tokens,
        service_tier=event.service_tier,
        prices=prices,
    )
    sent = event.tags
    key_scope = (key.provider_scopes or {}).get(provider)
    if key_scope and not sent.get("provider_scope"):  # the key names where its traffic bills
        sent = {**sent, "provider_scope": key_scope}
    tags = tags_resolve(key=key, sent=sent, reg=reg)
    if tags.forbidden:  # a team or product this key may not charge (apps.usage.tagging)
        raise EventRejected({name: [reason] for name, reason in tags.forbidden.items()})
    _check_stored_lengths({"provider": provider, **tags.values})
    values = {**event_values(event), "provider": provider, "timestamp": timestamp}
    row = {
        **{name: values[name] for name in SAME_NAMED},
        "timestamp": ops.adapt_datetimefield_value(timestamp),
        "attributes": orjson.dumps(event.attributes).decode(),
        **{tag_column(tag): tags.values[tag] for tag in TAGS},
        **{f"{tag}_id": getattr(tags, f"{tag}_id") for tag in REGISTRY_TAGS},
        "api_key_id": key.id,
        "day": ops.adapt_datefield_value(timestamp.date()),
        "adjusts_month": "",  # set by late_events_store for a late event of a closed month
        "received_at": ops.adapt_datetimefield_value(received_at),
        "source": source,
        "price_id": rating.price_id,
        "list_cost": to_nanos(rating.list_cost),
        "billed_cost": to_nanos(rating.billed_cost),
        "cache_savings": to_nanos(rating.cache_savings),
        "unpriced": rating.unpriced,
        "missing_tags": ",".join(tags.missing),
        "raw_tags": _json_or_null(raw_tags_stored(event.tags, tags.values)),
    }
    return tuple(row[column] for column in COLUMNS), {**{n: values[n] for n in COMPARED}, "raw_tags": event.tags}


def _json_or_null(value) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def events_ingest(
    *, key: ApiKeyInfo, events: list[Event | Any], source: str = UsageEvent.Source.API, refresh_days: bool = True
) -> IngestResult:
    """Validate, tag, rate and store a batch: raw event mappings are validated here, `Event`s a door
    has validated already are taken as they are. Invalid events are reported, valid ones stored,
    and an event_id the key already sent is counted as a duplicate instead of stored twice, or as
    a conflict when its payload differs from the stored one (which stays).
    `source` names the door (events API, gateway, OpenTelemetry) the batch came in by;
    `refresh_days=False` leaves the days dirty for the caller to refresh (a bulk load)."""
    received_at = timezone.now()
    reg = registry.get()
    prices = catalog.get()
    ops = connection.ops
    result = IngestResult()
    rows: dict[str, tuple] = {}
    payloads: dict[str, dict[str, Any]] = {}
    first_index: dict[str, int] = {}
    resent: list[tuple[int, str, dict[str, Any]]] = []  # (index, event_id, payload) of repeats in the batch
    for index, raw in enumerate(events):
        event, errors = (raw, {}) if isinstance(raw, Event) else event_validate(raw, now=received_at)
        if event is not None:
            try:
                row, payload = _event_row(
                    event, key=key, reg=reg, prices=prices, received_at=received_at, source=source, ops=ops
                )
            except EventRejected as exc:
                errors = exc.errors
            else:
                if event.event_id in rows:
                    resent.append((index, event.event_id, payload))
                else:
                    rows[event.event_id], payloads[event.event_id] = row, payload
                    first_index[event.event_id] = index
                continue
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        event_id = echo(event_id) if isinstance(event_id, str) else None  # the schema promises a string
        result.rejected.append({"index": index, "event_id": event_id, "errors": errors})
    inserted = late_events_store(
        [rows[event_id] for event_id in sorted(rows)], partial(events_store, refresh_days=refresh_days)
    )
    result.accepted = len(inserted)
    already_stored = [(first_index[e], e, payloads[e]) for e in rows if e not in inserted]
    _resends_compare(result, key=key, sent=already_stored)
    _resends_compare(result, key=key, sent=resent, stored=payloads)
    return result


def _resends_compare(
    result: IngestResult,
    *,
    key: ApiKeyInfo,
    sent: list[tuple[int, str, dict[str, Any]]],
    stored: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Count each resent event as a duplicate when its payload matches the stored one (read from
    the database unless given), else as a conflict naming the fields that differ."""
    if not sent:
        return
    if stored is None:
        stored = _stored_payloads(key_id=key.id, event_ids=[e for _, e, _ in sent])
    for index, event_id, payload in sent:
        if event_id not in stored:  # stored, then archived with its month: still not stored twice
            result.duplicates += 1
            continue
        differing = _differences(payload, stored[event_id])
        if differing:
            result.conflicts.append({"index": index, "event_id": event_id, "fields": differing})
        else:
            result.duplicates += 1


def _stored_payloads(*, key_id: int, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored payloads of a key's events, found through their keys by id and day (the day
    picks the month's partition; the id is its primary key)."""
    keys = EventKey.objects.filter(api_key_id=key_id, event_id__in=event_ids).values_list("event_pk", "day")
    pks, days = {pk for pk, _ in keys}, {day for _, day in keys}
    rows = UsageEvent.objects.filter(pk__in=pks, day__in=days, api_key_id=key_id)
    stored = {}
    for row in rows.values("event_id", *COMPARED, "raw_tags", *map(tag_column, TAGS)):
        row["raw_tags"] = raw_tags_sent(row["raw_tags"], {name: row[tag_column(name)] for name in TAGS})
        stored[row["event_id"]] = row
    return stored


def api_key_create(
    *,
    team: Team,
    name: str,
    pinned_tags: dict[str, str] | None = None,
    default_tags: dict[str, str] | None = None,
    provider_scopes: dict[str, str] | None = None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is not stored and cannot be shown again.

    With `created_by`, that person must lead the team or be a superuser (org.selectors.user_may_create_api_key).
    """
    if created_by is not None and not user_may_create_api_key(created_by, team):
        raise ValidationError(
            {"team": f"Only a lead of {team} (or a superuser) can create its API keys, and {created_by} is not one."}
        )
    key = ApiKey(
        team=team,
        name=name,
        pinned_tags=pinned_tags or {},
        default_tags=default_tags or {},
        provider_scopes=provider_scopes or {},
        created_by=created_by,
    )
    raw = key.set_new_key()
    key.full_clean()
    key.save()
    return key, raw


def api_keys_revoke(*, keys: QuerySet[ApiKey]) -> int:
    """Revoke the keys not yet revoked; every process refuses them from the commit on."""
    count = keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    transaction.on_commit(api_keys.invalidate)
    return count
