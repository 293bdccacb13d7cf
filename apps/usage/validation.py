"""Validation of one incoming event: plain Python on the hot path, no serializer per event.

`event_validate` returns the cleaned values and a `{field: [message]}` dict; an event with any
error is rejected on its own while the rest of its batch is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)
TAG_FIELDS = ("team", "product", "feature", "environment", "customer", "agent", "trace_id")
# field → maximum length; the first three are required.
STRING_FIELDS = {
    "event_id": 128,
    "provider": 64,
    "model": 128,
    "team": 128,
    "product": 128,
    "feature": 128,
    "environment": 64,
    "customer": 128,
    "agent": 128,
    "trace_id": 128,
    "outcome": 32,
}
REQUIRED = ("event_id", "timestamp", "provider", "model")
SERVICE_TIERS = ("standard", "batch", "priority", "flex")
# Far above any context window, and low enough that a day of such calls cannot overflow the
# rollups' nano-dollar sums (64-bit: about $9.2 billion a day, 15,000 calls at $600 per million).
MAX_TOKENS = 10**9
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 256
# PostgreSQL cannot store a NUL character in text, so it is refused here rather than by the insert.
NUL_MESSAGE = "Must not contain a NUL (\\u0000) character."
KNOWN_FIELDS = frozenset(
    (*STRING_FIELDS, *TOKEN_FIELDS, "timestamp", "service_tier", "latency_ms", "usage_missing", "attributes")
)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _timestamp(value: Any, now: datetime, errors: dict[str, list[str]]) -> datetime | None:
    if not isinstance(value, str):
        errors["timestamp"] = ["Must be an RFC 3339 string, e.g. 2026-01-31T12:00:00Z."]
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors["timestamp"] = [f"{value[:40]!r} is not an RFC 3339 timestamp."]
        return None
    if parsed.tzinfo is None:
        errors["timestamp"] = ["Must include a timezone offset (e.g. Z or +00:00)."]
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


def event_validate(raw: Any, *, now: datetime) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check one event object against the canonical event's rules."""
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}

    for name in raw.keys() - KNOWN_FIELDS:
        errors[str(name)[:64]] = ["Unknown field."]
    for name in REQUIRED:
        value = raw.get(name)
        # Blank counts as missing: strings are stored trimmed, and an empty event_id or model is no key.
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[name] = ["This field is required."]

    for name, limit in STRING_FIELDS.items():
        value = raw.get(name)
        if value is None or name in errors:
            continue
        if not isinstance(value, str):
            errors[name] = ["Must be a string."]
        elif len(value) > limit:
            errors[name] = [f"At most {limit} characters; got {len(value)}."]
        elif "\x00" in value:
            errors[name] = [NUL_MESSAGE]
        else:
            clean[name] = value.strip()

    for name in TOKEN_FIELDS:
        value = raw.get(name, 0)
        if value is None:
            value = 0
        if not _is_int(value) or value < 0:
            errors[name] = ["Must be a non-negative integer."]
        elif value > MAX_TOKENS:
            errors[name] = [f"At most {MAX_TOKENS:,} tokens in one call."]
        else:
            clean[name] = value

    if "timestamp" not in errors:
        clean["timestamp"] = _timestamp(raw["timestamp"], now, errors)

    tier = raw.get("service_tier") or "standard"
    if tier not in SERVICE_TIERS:
        errors["service_tier"] = [f"Must be one of {', '.join(SERVICE_TIERS)}."]
    clean["service_tier"] = tier

    latency = raw.get("latency_ms")
    if latency is not None and (not _is_int(latency) or not 0 <= latency < 2**31):
        errors["latency_ms"] = ["Must be a non-negative integer number of milliseconds."]
    clean["latency_ms"] = latency

    usage_missing = raw.get("usage_missing", False)
    if not isinstance(usage_missing, bool):
        errors["usage_missing"] = ["Must be true or false."]
    clean["usage_missing"] = usage_missing is True

    attributes = raw.get("attributes")
    clean["attributes"] = {} if attributes is None else _attributes(attributes, errors)

    _check_subsets(clean, errors)
    return clean, errors


def _check_subsets(clean: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """Cache and reasoning counts are parts of the totals they belong to."""
    if not all(name in clean for name in TOKEN_FIELDS):
        return
    cached = clean["cache_read_tokens"] + clean["cache_write_tokens"]
    if cached > clean["input_tokens"]:
        errors.setdefault("input_tokens", []).append(
            f"Must include the cache reads and writes ({cached}); input_tokens counts all input tokens."
        )
    if clean["cache_write_1h_tokens"] > clean["cache_write_tokens"]:
        errors.setdefault("cache_write_1h_tokens", []).append("Cannot exceed cache_write_tokens (it is a subset).")
    if clean["reasoning_tokens"] > clean["output_tokens"]:
        errors.setdefault("reasoning_tokens", []).append("Cannot exceed output_tokens (reasoning is part of output).")
