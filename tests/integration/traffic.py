"""Client threads that keep calling the gateway, the events API and OTLP while a test breaks
things, noting what each call got back and when."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import httpx
import openai

from apps.usage.models import UsageEvent
from tests.factories import EventPayloadFactory
from tests.usage.otlp.spans import chat, export_request, span


class Traffic:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.answered: list[tuple[str, str, float]] = []  # (door, event_id, when)
        self.failed: list[tuple[str, str, float]] = []  # (door, error, when)
        self._threads: list[threading.Thread] = []

    def ok(self, door: str, *event_ids: str) -> None:
        with self._lock:
            self.answered += [(door, event_id, time.monotonic()) for event_id in event_ids]

    def fail(self, door: str, error: Exception) -> None:
        with self._lock:
            self.failed.append((door, repr(error)[:300], time.monotonic()))

    def run(self, loop: Callable[[Traffic], None], *, threads: int = 1) -> None:
        for _ in range(threads):
            thread = threading.Thread(target=loop, args=(self,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread hung"

    def answered_ids(self) -> set[str]:
        return {event_id for _, event_id, _ in self.answered}

    def answered_between(self, door: str, start: float, end: float) -> int:
        return sum(1 for d, _, when in self.answered if d == door and start < when < end)


def stored_counts(event_ids: set[str]) -> Counter:
    """How many rows PostgreSQL holds for each event_id."""
    return Counter(UsageEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))


def gateway_calls(url: str, raw_key: str, *, streams_only: bool = False) -> Callable[[Traffic], None]:
    """Chat completions through the gateway with the official SDK, plain and streamed in turn;
    a call counts as answered once its whole response (the stream's end included) arrived."""

    def loop(traffic: Traffic) -> None:
        client = openai.OpenAI(base_url=f"{url}/gateway/openai/v1", api_key=raw_key, max_retries=0, timeout=30)
        streamed = streams_only
        while not traffic.stopping.is_set():
            messages = [{"role": "user", "content": "Hi"}]
            try:
                if streamed:
                    ids = {
                        chunk.id
                        for chunk in client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
                    }
                    (event_id,) = ids
                else:
                    event_id = client.chat.completions.create(model="gpt-4o", messages=messages).id
                traffic.ok("gateway", event_id)
            except openai.APIError as exc:
                traffic.fail("gateway", exc)
            streamed = streams_only or not streamed

    return loop


def event_posts(url: str, raw_key: str) -> Callable[[Traffic], None]:
    """Batches of three events to POST /api/v1/events, then one span to POST /otlp/v1/traces."""

    def loop(traffic: Traffic) -> None:
        headers = {"Authorization": f"Bearer {raw_key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while not traffic.stopping.is_set():
                events = [EventPayloadFactory(event_id=f"outage-{uuid.uuid4().hex}") for _ in range(3)]
                try:
                    response = client.post("/api/v1/events", json={"events": events})
                    if response.status_code == 202 and response.json()["accepted"] == 3:
                        traffic.ok("events", *(e["event_id"] for e in events))
                    else:
                        traffic.fail("events", AssertionError(f"{response.status_code} {response.text[:200]}"))
                    response_id = f"chatcmpl-otlp-{uuid.uuid4().hex}"
                    spans = span(chat(**{"gen_ai.response.id": response_id}), span_id=uuid.uuid4().hex[:16])
                    response = client.post(
                        "/otlp/v1/traces",
                        content=export_request(spans).SerializeToString(),
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                    if response.status_code == 200:
                        traffic.ok("otlp", response_id)
                    else:
                        traffic.fail("otlp", AssertionError(f"{response.status_code} {response.text[:200]}"))
                except httpx.HTTPError as exc:
                    traffic.fail("events", exc)

    return loop
