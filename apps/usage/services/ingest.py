"""Ingesting events: validate, tag, rate and store a batch idempotently; creating API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from apps.org.models import Team
from apps.org.registry import Registry, normalize_tag, registry
from apps.pricing.fields import to_nanos
from apps.pricing.rating import Catalog, catalog, event_rate
from apps.usage.keys import ApiKeyInfo
from apps.usage.models import ApiKey, UsageEvent
from apps.usage.validation import STRING_FIELDS, TAG_FIELDS, event_validate

from .storage import events_store


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


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


def _tags(clean: dict[str, Any], key: ApiKeyInfo) -> tuple[dict[str, str], dict[str, str]]:
    """(effective tag values, raw values as sent). Defaults fill gaps; pins always win."""
    raw = {name: clean[name] for name in TAG_FIELDS if clean.get(name)}
    tags = {**key.default_tags, **raw, **key.pinned_tags}
    return tags, raw


def _event_row(
    clean: dict[str, Any],
    *,
    key: ApiKeyInfo,
    reg: Registry,
    prices: Catalog,
    received_at: datetime,
    source: str,
    ops,
) -> tuple:
    tags, raw = _tags(clean, key)
    provider = reg.canonical("provider", normalize_tag(clean["provider"]))
    timestamp = clean["timestamp"].astimezone(UTC)
    rating = event_rate(
        provider=provider,
        model=clean["model"],
        timestamp=timestamp,
        input_tokens=clean["input_tokens"],
        output_tokens=clean["output_tokens"],
        cache_read_tokens=clean["cache_read_tokens"],
        cache_write_tokens=clean["cache_write_tokens"],
        cache_write_1h_tokens=clean["cache_write_1h_tokens"],
        service_tier=clean["service_tier"],
        prices=prices,
    )
    team_tag = normalize_tag(tags.get("team", ""))
    product_tag = normalize_tag(tags.get("product", ""))
    environment_tag = normalize_tag(tags.get("environment", ""))
    team_slug = reg.canonical("team", team_tag)
    product_slug = reg.canonical("product", product_tag)
    environment_slug = reg.canonical("environment", environment_tag)
    feature = reg.canonical("feature", normalize_tag(tags.get("feature", "")))
    agent = reg.canonical("agent", normalize_tag(tags.get("agent", "")))
    # Customer ids keep their case (they are another system's keys); aliases still match loosely.
    customer = tags.get("customer", "").strip()
    customer = reg.aliases.get("customer", {}).get(normalize_tag(customer), customer)
    trace_id = tags.get("trace_id", "")
    present = {
        "team": team_tag,
        "product": product_tag,
        "environment": environment_tag,
        "feature": feature,
        "customer": customer,
        "agent": agent,
        "trace_id": trace_id,
    }
    _check_stored_lengths({"provider": provider, **present})
    missing = [t for t in reg.required_tags_for(environment_slug) if not present[t]]
    return (
        key.id,
        clean["event_id"],
        ops.adapt_datetimefield_value(timestamp),
        ops.adapt_datefield_value(timestamp.date()),
        ops.adapt_datetimefield_value(received_at),
        source,
        provider,
        clean["model"],
        clean["service_tier"],
        clean.get("outcome") or "success",
        clean["latency_ms"],
        clean["input_tokens"],
        clean["output_tokens"],
        clean["cache_read_tokens"],
        clean["cache_write_tokens"],
        clean["cache_write_1h_tokens"],
        clean["reasoning_tokens"],
        rating.price_id,
        to_nanos(rating.list_cost),
        to_nanos(rating.billed_cost),
        to_nanos(rating.cache_savings),
        rating.unpriced,
        clean["usage_missing"],
        team_tag,
        reg.team_ids.get(team_slug),
        product_tag,
        reg.product_ids.get(product_slug),
        environment_tag,
        reg.environment_ids.get(environment_slug),
        feature,
        customer,
        agent,
        trace_id,
        ",".join(missing),
        orjson.dumps(raw).decode(),
        orjson.dumps(clean["attributes"]).decode(),
    )


def events_ingest(*, key: ApiKeyInfo, events: list[Any], source: str = UsageEvent.Source.API) -> IngestResult:
    """Validate, tag, rate and store a batch. Invalid events are reported, valid ones stored,
    and an event_id the key already sent is counted as a duplicate instead of stored twice.
    `source` names the door (events API, gateway, OpenTelemetry) the batch came in by."""
    received_at = timezone.now()
    reg = registry.get()
    prices = catalog.get()
    ops = connection.ops
    result = IngestResult()
    rows: dict[str, tuple] = {}
    for index, raw in enumerate(events):
        clean, errors = event_validate(raw, now=received_at)
        if not errors:
            if clean["event_id"] in rows:
                result.duplicates += 1
                continue
            try:
                rows[clean["event_id"]] = _event_row(
                    clean, key=key, reg=reg, prices=prices, received_at=received_at, source=source, ops=ops
                )
                continue
            except EventRejected as exc:
                errors = exc.errors
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        result.rejected.append({"index": index, "event_id": event_id, "errors": errors})
    inserted_days = events_store([rows[event_id] for event_id in sorted(rows)])
    result.accepted = len(inserted_days)
    result.duplicates += len(rows) - len(inserted_days)
    return result


def api_key_create(
    *, team: Team, name: str, pinned_tags: dict[str, str] | None = None, default_tags: dict[str, str] | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is not stored and cannot be shown again."""
    key = ApiKey(team=team, name=name, pinned_tags=pinned_tags or {}, default_tags=default_tags or {})
    raw = key.set_new_key()
    key.full_clean()
    key.save()
    return key, raw
