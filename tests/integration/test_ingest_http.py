"""Events over real HTTP into PostgreSQL: a batch POSTed and read back with exact costs."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.factories import EventPayloadFactory, ModelPriceFactory

# serialized_rollback: the flush after a transactional test would drop the environments and
# tag policy migration 0002 seeded; this restores them for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def http_json(method: str, url: str, api_key, payload=None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=None if payload is None else json.dumps(payload).encode(),
        method=method,
        headers={"Authorization": f"Bearer {api_key.raw_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_a_batch_posted_over_http_reads_back_with_exact_costs(live_server, api_key):
    ModelPriceFactory()
    events = [
        EventPayloadFactory(event_id="http-1", input_tokens=1000, output_tokens=100),
        # 800 uncached × $3 + 200 read × $0.30 + 50 × $15
        EventPayloadFactory(event_id="http-2", input_tokens=1000, cache_read_tokens=200, output_tokens=50),
        # (1,000 × $3 + 100 × $15) × 50% batch discount
        EventPayloadFactory(event_id="http-3", input_tokens=1000, output_tokens=100, service_tier="batch"),
    ]
    status, result = http_json("POST", f"{live_server.url}/api/v1/events", api_key, {"events": events})
    assert (status, result) == (202, {"accepted": 3, "duplicates": 0, "rejected": [], "conflicts": []})
    _, listing = http_json("GET", f"{live_server.url}/api/v1/events", api_key)
    assert {e["event_id"]: (e["list_cost"], e["billed_cost"]) for e in listing["results"]} == {
        "http-1": ("0.004500000", "0.004500000"),
        "http-2": ("0.003210000", "0.003210000"),
        "http-3": ("0.002250000", "0.002250000"),
    }


def test_an_event_read_back_over_http_carries_the_seeded_tag_policy(live_server, api_key):
    ModelPriceFactory()
    payload = EventPayloadFactory(event_id="http-prod", team="search", environment="prod")
    http_json("POST", f"{live_server.url}/api/v1/events", api_key, payload)
    _, event = http_json("GET", f"{live_server.url}/api/v1/events/http-prod", api_key)
    assert (event["tags"]["team"], event["tags"]["environment"], event["flags"]["missing_tags"]) == (
        "search",
        "production",
        ["product"],
    )
