"""POST /api/v1/events: one event or a batch in, exact costs stored, clear errors out."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import orjson
import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from apps.usage.models import UsageEvent
from tests.factories import EventPayloadFactory

from .conftest import EVENTS_URL

pytestmark = pytest.mark.django_db


def stored_ids() -> set[str]:
    return set(UsageEvent.objects.values_list("event_id", flat=True))


def test_it_accepts_a_single_event(key_client, price):
    response = key_client.post(EVENTS_URL, EventPayloadFactory(), format="json")
    assert (response.status_code, response.json()) == (
        202,
        {"accepted": 1, "duplicates": 0, "rejected": [], "conflicts": []},
    )


def test_it_stores_a_single_event_priced(key_client, price):
    key_client.post(EVENTS_URL, EventPayloadFactory(input_tokens=1000, output_tokens=100), format="json")
    event = UsageEvent.objects.get()
    # 1,000 × $3 + 100 × $15, per million
    assert (event.list_cost, event.billed_cost, event.price_id) == (
        Decimal("0.004500000"),
        Decimal("0.004500000"),
        price.id,
    )


def test_it_accepts_a_batch(send, price):
    result = send(EventPayloadFactory(), EventPayloadFactory(), EventPayloadFactory())
    assert (result, UsageEvent.objects.count()) == (
        {"accepted": 3, "duplicates": 0, "rejected": [], "conflicts": []},
        3,
    )


def test_it_stores_the_event_as_sent(send, api_key, price):
    sent = EventPayloadFactory(
        event_id="req_01",
        input_tokens=1200,
        cache_read_tokens=200,
        cache_write_tokens=300,
        cache_write_1h_tokens=100,
        output_tokens=400,
        reasoning_tokens=50,
        service_tier="priority",
        latency_ms=830,
        attributes={"region": "eu"},
    )
    send(sent)
    event = UsageEvent.objects.get()
    assert (
        event.api_key_id,
        event.event_id,
        event.timestamp,
        event.input_tokens,
        event.cache_read_tokens,
        event.cache_write_tokens,
        event.cache_write_1h_tokens,
        event.output_tokens,
        event.reasoning_tokens,
        event.service_tier,
        event.latency_ms,
        event.attributes,
    ) == (
        api_key.id,
        "req_01",
        datetime.fromisoformat(sent["timestamp"]),
        1200,
        200,
        300,
        100,
        400,
        50,
        "priority",
        830,
        {"region": "eu"},
    )


def test_it_files_an_event_under_the_utc_day_of_its_timestamp(send, price):
    # 23:30 at UTC-5 is 04:30 the next day in UTC.
    local_day = (timezone.now() - timedelta(days=2)).date()
    sent_at = datetime.combine(local_day, time(23, 30), tzinfo=timezone.get_fixed_timezone(-300))
    send(EventPayloadFactory(timestamp=sent_at.isoformat()))
    event = UsageEvent.objects.get()
    assert (event.day, event.timestamp) == (local_day + timedelta(days=1), sent_at.astimezone(UTC))


def test_a_mixed_batch_stores_the_valid_events_and_reports_the_invalid_one(send, price):
    result = send(
        EventPayloadFactory(event_id="good-1"),
        EventPayloadFactory(event_id="bad", output_tokens=-1),
        EventPayloadFactory(event_id="good-2"),
    )
    assert result == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [{"index": 1, "event_id": "bad", "errors": {"output_tokens": ["Must be a non-negative integer."]}}],
        "conflicts": [],
    }
    assert stored_ids() == {"good-1", "good-2"}


def test_a_nul_character_is_rejected_with_the_event_and_the_rest_stored(send, price):
    # PostgreSQL cannot store it: the event is refused by validation, not by a failed insert.
    result = send(EventPayloadFactory(event_id="good"), EventPayloadFactory(event_id="bad", feature="a\x00b"))

    assert [(r["index"], list(r["errors"])) for r in result["rejected"]] == [(1, ["feature"])]
    assert stored_ids() == {"good"}


def test_a_tag_longer_than_its_column_once_normalized_is_rejected_and_the_rest_stored(send, price):
    # "İ" lowercases to two characters: 64 of them fit the limit as sent, not once normalized.
    result = send(EventPayloadFactory(event_id="good"), EventPayloadFactory(event_id="long", environment="İ" * 64))

    [rejected] = result["rejected"]
    assert (rejected["index"], list(rejected["errors"])) == (1, ["environment"])
    assert rejected["errors"]["environment"][0].startswith("Normalizes to 127 characters")
    assert stored_ids() == {"good"}


def test_a_batch_entry_that_is_not_an_object_is_rejected_without_an_event_id(send, price):
    result = send("not an event", status=422)
    assert result["rejected"] == [
        {"index": 0, "event_id": None, "errors": {"non_field_errors": ["Each event must be a JSON object."]}}
    ]


def test_it_refuses_a_body_that_is_not_json(key_client):
    response = key_client.post(EVENTS_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not valid JSON")


@pytest.mark.parametrize(
    ("content_type", "named"),
    [("text/plain", "text/plain"), ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded")],
)
def test_it_refuses_a_body_that_is_not_sent_as_json_and_stores_nothing(key_client, price, content_type, named):
    body = orjson.dumps(EventPayloadFactory()).decode()
    response = key_client.post(EVENTS_URL, body, content_type=content_type)
    assert (response.status_code, response.json()) == (
        415,
        {"detail": f"Send the events as application/json, not {named}."},
    )
    assert stored_ids() == set()


def test_it_takes_a_json_media_type_with_a_suffix(key_client, price):
    body = orjson.dumps(EventPayloadFactory(event_id="req_01")).decode()
    response = key_client.post(EVENTS_URL, body, content_type="application/vnd.events+json; charset=utf-8")
    assert (response.status_code, stored_ids()) == (202, {"req_01"})


def test_a_rejected_event_echoes_a_long_event_id_cut_short(key_client, price):
    response = key_client.post(EVENTS_URL, EventPayloadFactory(event_id="x" * 1_000_000), format="json")
    rejected = response.json()["rejected"][0]
    assert rejected["event_id"] == "x" * 128 + "…"
    assert rejected["errors"] == {"event_id": ["At most 128 characters; got 1000000."]}
    assert len(response.content) < 1000


def test_it_refuses_a_list_body(key_client):
    response = key_client.post(EVENTS_URL, [EventPayloadFactory()], format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": 'Send one event object, or {"events": [event, ...]}.'},
    )


def test_it_refuses_events_that_are_not_a_list(key_client):
    response = key_client.post(EVENTS_URL, {"events": EventPayloadFactory()}, format="json")
    assert (response.status_code, response.json()) == (400, {"detail": '"events" must be a list of event objects.'})


def test_it_refuses_extra_keys_beside_the_events_list(key_client):
    response = key_client.post(EVENTS_URL, {"events": [], "source": "sdk"}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": 'A batch body has only an "events" list; unexpected: source.'},
    )


def test_it_refuses_a_batch_over_the_limit_and_stores_none_of_it(key_client, settings, price):
    settings.INGEST_MAX_BATCH = 2
    events = [EventPayloadFactory() for _ in range(3)]
    response = key_client.post(EVENTS_URL, {"events": events}, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "A batch holds at most 2 events; this one has 3."},
    )
    assert stored_ids() == set()


def test_it_accepts_a_batch_at_the_limit(send, settings, price):
    settings.INGEST_MAX_BATCH = 2
    assert send(EventPayloadFactory(), EventPayloadFactory())["accepted"] == 2


def test_it_refuses_a_body_over_the_size_limit(key_client, settings, price):
    settings.INGEST_MAX_BODY_BYTES = 100
    response = key_client.post(EVENTS_URL, {"events": [EventPayloadFactory()]}, format="json")
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "The body is larger than 100 bytes; send smaller batches."},
    )
    assert stored_ids() == set()


def test_it_refuses_a_request_without_a_key(anon_client):
    response = anon_client.post(EVENTS_URL, EventPayloadFactory(), format="json")
    assert response.status_code == 401


def test_it_refuses_another_authorization_scheme(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key.raw_key}")
    response = client.post(EVENTS_URL, EventPayloadFactory(), format="json")
    assert (response.status_code, response.json()) == (401, {"detail": "Use 'Authorization: Bearer <api key>'."})


def test_it_refuses_an_unknown_key(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw_key}x")
    response = client.post(EVENTS_URL, EventPayloadFactory(), format="json")
    assert (response.status_code, response.json()) == (401, {"detail": "Unknown API key."})


def test_it_refuses_a_revoked_key(key_client, api_key, price):
    api_key.revoked_at = timezone.now()
    api_key.save()
    response = key_client.post(EVENTS_URL, EventPayloadFactory(), format="json")
    assert (response.status_code, response.json()) == (403, {"detail": "This API key has been revoked."})
    assert stored_ids() == set()


def test_a_person_logged_in_by_session_cannot_send_events(admin_user, price):
    client = APIClient()
    client.force_login(admin_user)
    response = client.post(EVENTS_URL, EventPayloadFactory(), format="json")
    assert response.status_code == 403
    assert stored_ids() == set()


def thousand_events() -> list[dict]:
    # Event i: 99 + i uncached input, 1 cache read and 7 output tokens: (402.3 + 3i) millionths of a dollar.
    return [
        EventPayloadFactory(event_id=f"bulk-{i:04d}", input_tokens=100 + i, cache_read_tokens=1, output_tokens=7)
        for i in range(1000)
    ]


def test_a_batch_of_1000_events_is_stored_with_exact_costs(send, price):
    result = send(*thousand_events())
    # Σ (402.3 + 3i) for i < 1000 = 402,300 + 1,498,500 = 1,900,800 millionths
    assert (result["accepted"], UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"]) == (
        1000,
        Decimal("1.900800000"),
    )


def test_each_event_of_a_large_batch_is_priced_exactly(send, price):
    send(*thousand_events())
    assert UsageEvent.objects.get(event_id="bulk-0999").billed_cost == Decimal("0.003399300")


def test_resending_a_batch_of_1000_stores_nothing_and_reports_1000_duplicates(send, price):
    events = thousand_events()
    send(*events)
    assert send(*events) == {"accepted": 0, "duplicates": 1000, "rejected": [], "conflicts": []}
    assert UsageEvent.objects.count() == 1000


def test_a_rejected_event_whose_event_id_is_no_string_echoes_none(send, price):
    body = send({**EventPayloadFactory(), "event_id": {"nested": 1}}, status=422)
    assert body["rejected"] == [{"index": 0, "event_id": None, "errors": {"event_id": ["Must be a string."]}}]


def test_a_request_of_which_no_event_was_accepted_answers_422_with_the_same_body(key_client, price):
    response = key_client.post(EVENTS_URL, {}, format="json")

    assert response.status_code == 422
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 0, [])
    assert body["rejected"][0]["errors"]["event_id"] == ["This field is required."]


def test_a_batch_with_one_accepted_event_keeps_202(send, price):
    body = send(EventPayloadFactory(), {**EventPayloadFactory(), "output_tokens": -1})

    assert (body["accepted"], len(body["rejected"])) == (1, 1)


def test_a_resend_of_stored_events_is_202_not_a_refusal(send, price):
    event = EventPayloadFactory()
    send(event)

    assert send(event)["duplicates"] == 1
