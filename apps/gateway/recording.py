"""Making a call's event durable before its response ends: a Redis list, else the database.

Redis mode: RPUSH the event and let a drainer (this process's background loop and the Celery
beat task `gateway.drain_events`) ingest the list in batches. Direct mode (no Redis, or Redis
down): calls wait for a group commit; every call that arrives while one batch is being written
joins the next, so the database sees batches, not one insert per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime

import orjson
import redis
import redis.asyncio

from apps.usage.keys import ApiKeyInfo

from .services import EVENTS_LIST, gateway_events_ingest

logger = logging.getLogger(__name__)

# After Redis fails, calls write directly for this long before Redis is tried again.
REDIS_RETRY_SECONDS = 5.0


class DirectWriter:
    def __init__(self) -> None:
        self._pending: list[tuple[ApiKeyInfo, dict, asyncio.Future]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def write(self, key: ApiKeyInfo, event: dict) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((key, event, future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if not batch:
                continue
            try:
                await asyncio.to_thread(gateway_events_ingest, calls=[(key, event) for key, event, _ in batch])
            except Exception as exc:  # the database is down: the calls are answered, their events logged
                logger.exception("Gateway events could not be stored: %s", [event for _, event, _ in batch])
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class Recorder:
    def __init__(self, redis_url: str) -> None:
        self.redis = redis.asyncio.Redis.from_url(redis_url) if redis_url else None
        self.direct = DirectWriter()
        self._redis_down_until = 0.0

    async def record(self, key: ApiKeyInfo, event: dict) -> None:
        if self.redis is not None and time.monotonic() >= self._redis_down_until:
            try:
                await self.redis.rpush(EVENTS_LIST, orjson.dumps({"key_id": key.id, "event": event}))
                return
            except (redis.RedisError, OSError):
                logger.warning("Redis is unreachable: gateway events are written to the database directly")
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        # A failed write is logged with its event by DirectWriter; the client still gets its answer.
        with contextlib.suppress(Exception):
            await self.direct.write(key, event)

    async def close(self) -> None:
        await self.direct.close()
        if self.redis is not None:
            await self.redis.aclose()


class CallRecord:
    """One call's event, built from its request and what the provider reported."""

    def __init__(self, *, gateway, key, provider, request_model, sent, attributes, started_at, clock, call) -> None:
        self.gateway = gateway
        self.key = key
        self.provider = provider
        self.request_model = request_model if isinstance(request_model, str) else ""
        self.sent = sent
        self.attributes = attributes
        self.started_at = started_at
        self.clock = clock
        self.call = call
        self.first_byte_ms: int | None = None

    async def save(self, *, outcome: str, usage_missing: bool) -> None:
        call = self.call
        attributes = dict(self.attributes)
        if self.first_byte_ms is not None:
            attributes["time_to_first_token_ms"] = self.first_byte_ms
        event = {
            "event_id": call.response_id[:128] or f"gw-{uuid.uuid4().hex}",
            "timestamp": datetime.fromtimestamp(self.started_at, UTC).isoformat(),
            "provider": self.provider,
            "model": (call.model or self.request_model or "unknown")[:128],
            # Whatever usage the provider reported, whatever the outcome (a stream cut off, a 5xx).
            **(call.tokens if call.usage is not None else {}),
            **self.sent,
            "service_tier": call.tier,
            "outcome": outcome[:32],
            "latency_ms": round((time.perf_counter() - self.clock) * 1000),
            "usage_missing": usage_missing,
            "attributes": attributes,
        }
        await self.gateway.recorder.record(self.key, event)
