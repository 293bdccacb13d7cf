"""event_validate: each rule of the canonical event, one event at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.usage.event import event_validate
from tests.factories import EventPayloadFactory

TOKEN_FIELDS = [
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
]


@pytest.fixture
def now():
    return timezone.now()


def validate(now, **fields):
    """Errors of a valid event changed by `fields` (a value of None leaves the field out)."""
    event = {k: v for k, v in EventPayloadFactory(**fields).items() if v is not None}
    return event_validate(event, now=now)


def test_a_valid_event_has_no_errors(now):
    clean, errors = validate(now)
    assert errors == {}
    assert (clean.tokens.input_tokens, clean.tokens.output_tokens, clean.service_tier) == (1000, 100, "standard")


@pytest.mark.parametrize("name", ["event_id", "timestamp", "provider", "model"])
def test_it_requires_the_field(now, name):
    _, errors = validate(now, **{name: None})
    assert errors == {name: ["This field is required."]}


@pytest.mark.parametrize("name", ["event_id", "provider", "model"])
def test_it_rejects_a_blank_required_field(now, name):
    _, errors = validate(now, **{name: "   "})
    assert errors == {name: ["This field is required."]}


def test_it_rejects_an_event_that_is_not_an_object(now):
    assert event_validate(["e1"], now=now) == (None, {"non_field_errors": ["Each event must be a JSON object."]})


@pytest.mark.parametrize("name", TOKEN_FIELDS)
def test_it_rejects_negative_tokens(now, name):
    _, errors = validate(now, **{name: -1})
    assert errors[name] == ["Must be a non-negative integer."]


@pytest.mark.parametrize("value", [10.0, True, "10"])
def test_it_rejects_token_counts_that_are_not_integers(now, value):
    _, errors = validate(now, output_tokens=value)
    assert errors == {"output_tokens": ["Must be a non-negative integer."]}


def test_it_rejects_an_absurd_token_count(now):
    _, errors = validate(now, output_tokens=10**9 + 1)
    assert errors == {"output_tokens": ["At most 1,000,000,000 tokens in one call."]}


def test_a_missing_or_null_token_count_is_zero(now):
    clean, errors = event_validate({**EventPayloadFactory(), "output_tokens": None}, now=now)
    assert (errors, clean.tokens.output_tokens, clean.tokens.cache_read_tokens) == ({}, 0, 0)


def test_it_rejects_cache_tokens_beyond_the_input(now):
    _, errors = validate(now, input_tokens=1000, cache_read_tokens=600, cache_write_tokens=401)
    assert errors == {
        "input_tokens": ["Must include the cache reads and writes (1001); input_tokens counts all input tokens."]
    }


def test_it_accepts_input_made_only_of_cache_reads_and_writes(now):
    _, errors = validate(now, input_tokens=1000, cache_read_tokens=600, cache_write_tokens=400)
    assert errors == {}


def test_it_rejects_more_1_hour_writes_than_cache_writes(now):
    _, errors = validate(now, cache_write_tokens=100, cache_write_1h_tokens=101)
    assert errors == {"cache_write_1h_tokens": ["Cannot exceed cache_write_tokens (it is a subset)."]}


def test_it_rejects_more_reasoning_than_output(now):
    _, errors = validate(now, output_tokens=100, reasoning_tokens=101)
    assert errors == {"reasoning_tokens": ["Cannot exceed output_tokens (reasoning is part of output)."]}


def test_it_rejects_a_timestamp_without_a_timezone(now):
    naive = (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    _, errors = validate(now, timestamp=naive)
    assert errors == {"timestamp": [f"{naive!r} is not an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z."]}


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-11-30 10:00:00Z",  # a space instead of the T separator
        "2026-W48-1T10:00:00Z",  # a week date
        "2026-334T10:00:00Z",  # an ordinal date
        "20261130T100000Z",  # the basic format
        "2026-11-30T10:00Z",  # no seconds
    ],
)
def test_it_rejects_a_timestamp_that_is_not_rfc_3339(now, value):
    _, errors = validate(now, timestamp=value)
    assert errors == {"timestamp": [f"{value!r} is not an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z."]}


@pytest.mark.parametrize("value", [1764000000, True, ["2026-11-30T10:00:00Z"]])
def test_it_rejects_a_timestamp_that_is_not_a_string(now, value):
    _, errors = validate(now, timestamp=value)
    assert errors == {"timestamp": ["Must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z."]}


def test_it_accepts_lowercase_t_and_z_as_rfc_3339_allows(now):
    sent = (now - timedelta(hours=1)).strftime("%Y-%m-%dt%H:%M:%S.%fz")
    clean, errors = validate(now, timestamp=sent)
    assert (errors, clean.timestamp) == ({}, now - timedelta(hours=1))


def test_it_accepts_a_timestamp_with_an_offset_as_the_same_instant(now):
    sent = (now - timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(330))
    clean, errors = validate(now, timestamp=sent.isoformat())
    assert (errors, clean.timestamp) == ({}, now - timedelta(hours=1))


def test_it_accepts_a_timestamp_a_little_ahead_of_the_server_clock(now):
    _, errors = validate(now, timestamp=(now + timedelta(minutes=4)).isoformat())
    assert errors == {}


def test_it_rejects_a_timestamp_more_than_5_minutes_in_the_future(now):
    _, errors = validate(now, timestamp=(now + timedelta(minutes=5, seconds=1)).isoformat())
    assert errors == {"timestamp": ["Is more than 300 seconds in the future."]}


def test_it_accepts_an_event_inside_the_ingestion_horizon(now, settings):
    settings.INGEST_MAX_EVENT_AGE_DAYS = 7
    _, errors = validate(now, timestamp=(now - timedelta(days=6, hours=23)).isoformat())
    assert errors == {}


def test_it_rejects_an_event_older_than_the_ingestion_horizon(now, settings):
    settings.INGEST_MAX_EVENT_AGE_DAYS = 7
    _, errors = validate(now, timestamp=(now - timedelta(days=7, seconds=1)).isoformat())
    assert errors == {"timestamp": ["Is older than the 7-day ingestion horizon."]}


@pytest.mark.parametrize(
    ("name", "limit"),
    [("event_id", 128), ("provider", 64), ("model", 128), ("team", 128), ("environment", 64), ("outcome", 32)],
)
def test_it_rejects_a_string_over_its_length_limit(now, name, limit):
    _, errors = validate(now, **{name: "x" * (limit + 1)})
    assert errors == {name: [f"At most {limit} characters; got {limit + 1}."]}


@pytest.mark.parametrize(("name", "limit"), [("event_id", 128), ("environment", 64), ("outcome", 32)])
def test_it_accepts_a_string_at_its_length_limit(now, name, limit):
    _, errors = validate(now, **{name: "x" * limit})
    assert errors == {}


def test_it_rejects_a_tag_that_is_not_a_string(now):
    _, errors = validate(now, team=42)
    assert errors == {"team": ["Must be a string."]}


def test_it_trims_string_values(now):
    clean, _ = validate(now, team="  search  ")
    assert clean.tags["team"] == "search"


def test_it_keeps_flat_attributes_as_strings(now):
    clean, errors = validate(now, attributes={"region": "eu", "retries": 2, "cached": True})
    assert (errors, clean.attributes) == ({}, {"region": "eu", "retries": "2", "cached": "true"})


def test_it_rejects_nested_attributes(now):
    _, errors = validate(now, attributes={"request": {"id": "r1"}})
    assert errors == {"attributes": ["Value of 'request' must be a string, number or boolean, not a nested value."]}


def test_it_rejects_attributes_that_are_not_an_object(now):
    _, errors = validate(now, attributes=["region=eu"])
    assert list(errors) == ["attributes"]


def test_it_accepts_20_attributes(now):
    _, errors = validate(now, attributes={f"k{i}": "v" for i in range(20)})
    assert errors == {}


def test_it_rejects_more_than_20_attributes(now):
    _, errors = validate(now, attributes={f"k{i}": "v" for i in range(21)})
    assert errors == {"attributes": ["At most 20 keys; got 21."]}


def test_it_rejects_an_attribute_key_over_64_characters(now):
    _, errors = validate(now, attributes={"k" * 65: "v"})
    assert errors == {"attributes": [f"Key {'k' * 20!r}… is longer than 64 characters."]}


def test_it_rejects_an_attribute_value_over_256_characters(now):
    _, errors = validate(now, attributes={"note": "v" * 257})
    assert errors == {"attributes": ["Value of 'note' is longer than 256 characters."]}


@pytest.mark.parametrize("name", ["event_id", "model", "team", "customer"])
def test_it_rejects_a_nul_character_in_a_string(now, name):
    _, errors = validate(now, **{name: "a\x00b"})
    assert errors == {name: ["Must not contain a NUL (\\u0000) character."]}


def test_it_rejects_a_nul_character_in_an_attribute(now):
    _, errors = validate(now, attributes={"note": "a\x00b"})
    assert errors == {"attributes": ["Key 'note': Must not contain a NUL (\\u0000) character."]}


def test_it_rejects_unknown_fields(now):
    _, errors = validate(now, colour="red")
    assert errors == {"colour": ["Unknown field."]}


@pytest.mark.parametrize("tier", ["standard", "batch", "priority", "flex"])
def test_it_accepts_each_service_tier(now, tier):
    clean, errors = validate(now, service_tier=tier)
    assert (errors, clean.service_tier) == ({}, tier)


def test_a_missing_or_null_service_tier_is_standard(now):
    clean, errors = event_validate({**EventPayloadFactory(), "service_tier": None}, now=now)
    assert (errors, clean.service_tier) == ({}, "standard")


@pytest.mark.parametrize("tier", ["economy", False, "", [], {}, 0])
def test_it_rejects_a_service_tier_that_is_not_one_of_the_four(now, tier):
    _, errors = validate(now, service_tier=tier)
    assert errors == {"service_tier": [f"Must be one of standard, batch, priority, flex; got {tier!r}."]}


@pytest.mark.parametrize("value", ["yes", 1, []])
def test_it_rejects_a_usage_missing_flag_that_is_not_a_boolean(now, value):
    _, errors = validate(now, usage_missing=value)
    assert errors == {"usage_missing": ["Must be true or false."]}


@pytest.mark.parametrize("value", [-1, 1.5, "120"])
def test_it_rejects_a_latency_that_is_not_a_non_negative_integer(now, value):
    _, errors = validate(now, latency_ms=value)
    assert errors == {"latency_ms": ["Must be a non-negative integer number of milliseconds."]}


def test_it_reports_every_invalid_field_at_once(now):
    _, errors = validate(now, provider=None, output_tokens=-1, service_tier="economy")
    assert sorted(errors) == ["output_tokens", "provider", "service_tier"]
