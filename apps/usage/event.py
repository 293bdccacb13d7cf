"""The canonical event, defined once: `FIELDS` drives validation, the input and output schemas, the
stored columns and row (apps.usage.models, services/ingest.py), the idempotency comparison and rating.

Every door (the events API, the gateway, OpenTelemetry) hands `events_ingest` plain objects of
these fields; `event_validate` checks one in plain Python (no serializer per event on the hot
path) and returns an `Event`, or the `{field: [message]}` errors that reject it on its own while
the rest of its batch is stored. Tags come from `apps.org.tags.TAGS`: adding one there (and its
migration) is all a new tag takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings

from apps.org.tags import EVENT_TAGS, TAGS
from apps.pricing.rating import TOKEN_FIELDS, TokenCounts

Kind = Literal["string", "tokens", "timestamp", "tier", "latency", "flag", "attributes"]


@dataclass(frozen=True)
class EventField:
    name: str
    kind: Kind
    help: str = ""
    max_length: int = 0
    required: bool = False


_TOKEN_HELP = {
    "input_tokens": "ALL input tokens, cached included.",
    "output_tokens": "Output tokens, reasoning included.",
    "cache_read_tokens": "Subset of input_tokens.",
    "cache_write_tokens": "All cache writes; subset of input_tokens.",
    "cache_write_1h_tokens": "1-hour cache writes; subset of cache_write_tokens.",
    "reasoning_tokens": "Informational subset of output_tokens.",
}
# The one list of service tiers: the model's choices, the gateway's and OTLP's readings follow it.
SERVICE_TIERS = ("standard", "batch", "priority", "flex")

FIELDS = (
    EventField("event_id", "string", "Client idempotency key, unique per API key.", 128, required=True),
    EventField("timestamp", "timestamp", "RFC 3339 with offset: when the call happened.", required=True),
    EventField("provider", "string", "anthropic, openai, aws.bedrock, gcp.vertex_ai, …", 64, required=True),
    EventField("model", "string", "As the provider named it; dated snapshots resolve.", 128, required=True),
    *(EventField(name, "tokens", _TOKEN_HELP[name]) for name in TOKEN_FIELDS),
    *(EventField(name, "string", tag.help, tag.max_length) for name, tag in TAGS.items()),
    EventField("service_tier", "tier", f"One of {', '.join(SERVICE_TIERS)}; default standard."),
    EventField("outcome", "string", "success, or what went wrong (error, timeout, …).", 32),
    EventField("latency_ms", "latency", "How long the call took."),
    EventField("usage_missing", "flag", "The call's token counts are unknown: it is flagged, never counted as $0."),
    EventField("attributes", "attributes", "Up to 20 flat extra tags: string keys to string, number or boolean."),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
STRING_FIELDS = {f.name: f.max_length for f in FIELDS if f.kind == "string"}

# Far above any context window, and low enough that a day of such calls cannot overflow the
# rollups' nano-dollar sums (64-bit: about $9.2 billion a day, 15,000 calls at $600 per million).
MAX_TOKENS = 10**9
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 256
# How much of a client's text an error message repeats back.
ECHO_LENGTH = 128
# PostgreSQL cannot store a NUL character in text, so it is refused here rather than by the insert.
NUL_MESSAGE = "Must not contain a NUL (\\u0000) character."
# RFC 3339 (section 5.6): a full date, "T", a time with seconds and an offset. Python's
# fromisoformat alone also takes a space, week dates and missing offsets.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Event:
    """One validated call, as a door reported it: tags as sent (trimmed), not yet normalized."""

    event_id: str
    timestamp: datetime
    provider: str
    model: str
    tokens: TokenCounts
    tags: dict[str, str]
    service_tier: str
    outcome: str
    latency_ms: int | None
    usage_missing: bool
    attributes: dict[str, str]


def event_values(event: Event) -> dict[str, Any]:
    """The event as {field name: value} over FIELDS (tags as sent, "" when not sent)."""
    tokens = event.tokens.as_dict()
    return {
        f.name: tokens[f.name] if f.kind == "tokens" else event.tags.get(f.name, "") if f.name in TAGS
        else getattr(event, f.name)
        for f in FIELDS
    }  # fmt: skip


def event_json(event: Event) -> dict[str, Any]:
    """The event as the events API takes it (FIELDS' names; tags not sent left out): how a door
    that queues its events (the gateway, through Redis) hands them on."""
    values = {**event_values(event), "timestamp": event.timestamp.isoformat()}
    return {name: value for name, value in values.items() if not (name in TAGS and value == "")}


def echo(value: Any) -> Any:
    """A client's value as an error may repeat it: strings cut to ECHO_LENGTH characters."""
    if isinstance(value, str) and len(value) > ECHO_LENGTH:
        return value[:ECHO_LENGTH] + "…"
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _timestamp(value: Any, now: datetime, errors: dict[str, list[str]]) -> datetime | None:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        shown = f"{value[:40]!r} is not" if isinstance(value, str) else "Must be"
        errors["timestamp"] = [f"{shown} an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z."]
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        errors["timestamp"] = [f"{value!r} is not a valid date and time."]
        return None
    if parsed > now + timedelta(seconds=settings.INGEST_MAX_FUTURE_SECONDS):
        errors["timestamp"] = [f"Is more than {settings.INGEST_MAX_FUTURE_SECONDS} seconds in the future."]
        return None
    if parsed < now - timedelta(days=settings.INGEST_MAX_EVENT_AGE_DAYS):
        errors["timestamp"] = [f"Is older than the {settings.INGEST_MAX_EVENT_AGE_DAYS}-day ingestion horizon."]
        return None
    return parsed


def _attributes(value: Any, errors: dict[str, list[str]]) -> dict[str, str]:
    if not isinstance(value, dict):
        errors["attributes"] = ["Must be a flat object of string keys to string, number or boolean values."]
        return {}
    problems = []
    if len(value) > MAX_ATTRIBUTES:
        problems.append(f"At most {MAX_ATTRIBUTES} keys; got {len(value)}.")
    clean: dict[str, str] = {}
    for key, item in value.items():
        if len(key) > MAX_ATTRIBUTE_KEY:
            problems.append(f"Key {key[:20]!r}… is longer than {MAX_ATTRIBUTE_KEY} characters.")
        elif "\x00" in key or (isinstance(item, str) and "\x00" in item):
            problems.append(f"Key {key[:20]!r}: {NUL_MESSAGE}")
        elif isinstance(item, bool):
            clean[key] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            text = str(item)
            if len(text) > MAX_ATTRIBUTE_VALUE:
                problems.append(f"Value of {key!r} is longer than {MAX_ATTRIBUTE_VALUE} characters.")
            clean[key] = text
        else:
            problems.append(f"Value of {key!r} must be a string, number or boolean, not a nested value.")
    if problems:
        errors["attributes"] = problems
    return clean


def _string(name: str, value: Any, errors: dict[str, list[str]]) -> str:
    limit = STRING_FIELDS[name]
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
    elif len(value) > limit:
        errors[name] = [f"At most {limit} characters; got {len(value)}."]
    elif "\x00" in value:
        errors[name] = [NUL_MESSAGE]
    else:
        return value.strip()
    return ""


def _tokens(name: str, value: Any, errors: dict[str, list[str]]) -> int:
    if value is None:
        return 0
    if not _is_int(value) or value < 0:
        errors[name] = ["Must be a non-negative integer."]
    elif value > MAX_TOKENS:
        errors[name] = [f"At most {MAX_TOKENS:,} tokens in one call."]
    else:
        return value
    return 0


def _check_subsets(tokens: TokenCounts, errors: dict[str, list[str]]) -> None:
    """Cache and reasoning counts are parts of the totals they belong to."""
    cached = tokens.cache_read_tokens + tokens.cache_write_tokens
    if cached > tokens.input_tokens:
        errors.setdefault("input_tokens", []).append(
            f"Must include the cache reads and writes ({cached}); input_tokens counts all input tokens."
        )
    if tokens.cache_write_1h_tokens > tokens.cache_write_tokens:
        errors.setdefault("cache_write_1h_tokens", []).append("Cannot exceed cache_write_tokens (it is a subset).")
    if tokens.reasoning_tokens > tokens.output_tokens:
        errors.setdefault("reasoning_tokens", []).append("Cannot exceed output_tokens (reasoning is part of output).")


def event_validate(raw: Any, *, now: datetime) -> tuple[Event | None, dict[str, list[str]]]:
    """Check one event object against the canonical event's rules: the Event, or why not."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    for name in raw.keys() - FIELDS_BY_NAME.keys():
        errors[str(name)[:64]] = ["Unknown field."]
    for field in FIELDS:
        if field.required:
            value = raw.get(field.name)
            # Blank counts as missing: strings are stored trimmed, and an empty event_id is no key.
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[field.name] = ["This field is required."]

    strings = {
        name: _string(name, raw[name], errors)
        for name in STRING_FIELDS
        if raw.get(name) is not None and name not in errors
    }
    tokens = TokenCounts(**{name: _tokens(name, raw.get(name), errors) for name in TOKEN_FIELDS})
    timestamp = _timestamp(raw["timestamp"], now, errors) if "timestamp" not in errors else None

    tier = raw.get("service_tier")
    if tier is None:
        tier = "standard"
    elif tier not in SERVICE_TIERS:
        errors["service_tier"] = [f"Must be one of {', '.join(SERVICE_TIERS)}; got {echo(tier)!r}."]
    latency = raw.get("latency_ms")
    if latency is not None and (not _is_int(latency) or not 0 <= latency < 2**31):
        errors["latency_ms"] = ["Must be a non-negative integer number of milliseconds."]
    usage_missing = raw.get("usage_missing", False)
    if not isinstance(usage_missing, bool):
        errors["usage_missing"] = ["Must be true or false."]
    attributes = raw.get("attributes")
    attributes = {} if attributes is None else _attributes(attributes, errors)
    _check_subsets(tokens, errors)
    if errors:
        return None, errors
    return Event(
        event_id=strings["event_id"],
        timestamp=timestamp,
        provider=strings["provider"],
        model=strings["model"],
        tokens=tokens,
        tags={tag: strings[tag] for tag in EVENT_TAGS if strings.get(tag)},
        service_tier=tier,
        outcome=strings.get("outcome") or "success",
        latency_ms=latency,
        usage_missing=usage_missing,
        attributes=attributes,
    ), errors
