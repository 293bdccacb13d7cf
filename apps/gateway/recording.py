"""Making a call's event durable before its response ends: a Redis list, else the database.

Redis mode: RPUSH the event and let a drainer (this process's background loop and the Celery
beat task `gateway.drain_events`) ingest the list in batches. The events of calls that end in the
same event-loop tick, or while the previous RPUSH is on its way, go as one RPUSH (RedisAppender):
each call still waits for Redis's reply before its answer ends. Direct mode (no Redis, or Redis
down): calls wait for a group commit; every call that arrives while one batch is being written
joins the next, so the database sees batches, not one insert per call. With Redis down, direct
mode touches Redis for nothing (attribution_site.redis_outage, attribution_site.snapshots).

When neither takes an event, `record` raises EventNotStored (the caller answers with an error,
never a success) and the recorder reports itself unavailable: calls are then refused before
they reach the provider until a probe finds Redis or the database answering again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import redis
from django.db import close_old_connections, connection

from apps.pricing.rating import TokenCounts, event_rate
from apps.usage.event import Event, event_json
from apps.usage.keys import ApiKeyInfo
from attribution_site.redis_outage import async_redis_client, redis_url_down

from .selectors import HardLimit
from .services import EVENTS_LIST, gateway_events_ingest
from .spend import SpendCounts, nanos_of

logger = logging.getLogger(__name__)

# While unavailable, Redis and the database are asked this often whether they answer again.
PROBE_SECONDS = 1.0


class EventNotStored(Exception):
    """Neither Redis nor the database took a call's event (the event is in the error log)."""


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
            except Exception as exc:  # the database is down: the events are logged, the calls answered with an error
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


class RedisAppender:
    """RPUSHes events to the list, every event handed over while no write is in flight in one
    command: a call's `append` returns once Redis has taken its event, or raises what the write
    raised (then the caller writes it elsewhere; a write that failed may have landed all the same,
    which the drain's idempotence makes harmless)."""

    def __init__(self, client) -> None:
        self.client = client
        self._pending: list[tuple[bytes, asyncio.Future]] = []
        self._writing = False
        self._task: asyncio.Task | None = None  # held: the loop keeps only a weak reference to a task

    async def append(self, entry: bytes) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        if not self._writing:
            # Starts on the next tick: every event appended in this one joins the first write.
            self._writing = True
            self._task = asyncio.get_running_loop().create_task(self._write())
        await future

    async def _write(self) -> None:
        batch: list[tuple[bytes, asyncio.Future]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                error = None
                try:
                    await self.client.rpush(EVENTS_LIST, *(entry for entry, _ in batch))
                except Exception as exc:
                    error = exc
                _settle(batch, error)
        except BaseException as exc:  # cancelled as the process stops: no call waits for ever
            _settle([*batch, *self._pending], exc)
            self._pending = []
            raise
        finally:
            self._writing = False


def _settle(batch: list[tuple[bytes, asyncio.Future]], error: BaseException | None) -> None:
    for _, future in batch:
        if future.done():
            continue  # its call was cancelled (the client left); the event is written all the same
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _database_ping() -> None:
    close_old_connections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


class Recorder:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.redis = async_redis_client(redis_url) if redis_url else None
        self.appender = RedisAppender(self.redis)
        self.spend = SpendCounts(self.redis)
        self.direct = DirectWriter()
        # True from an event that could be stored nowhere until Redis or the database answers.
        self.unavailable = False
        self._probe: asyncio.Task | None = None

    async def record(
        self, key: ApiKeyInfo, call_event: Event, *, limits: Sequence[HardLimit] = (), nanos: int = 0
    ) -> None:
        """Make the event durable in Redis, else in the database; raise EventNotStored if neither takes it.
        Either way it travels as the events API's JSON, and ingestion validates it as it would any door's.
        Its cost (`nanos`) is counted against the hard-limit budgets it draws on (`limits`) in the
        same Redis transaction (apps.gateway.spend), else in this process."""
        event = event_json(call_event)
        entry = orjson.dumps({"key_id": key.id, "event": event})
        at = time.time()
        if self.redis is not None and not redis_url_down(self.redis_url):
            try:
                if not limits:
                    await self.appender.append(entry)
                    return
                async with self.redis.pipeline(transaction=True) as pipeline:
                    pipeline.rpush(EVENTS_LIST, entry)
                    await self.spend.count_queue(pipeline, limits=limits, nanos=nanos, at=at)
                    _, totals = await pipeline.execute()
                self.spend.counted(limits=limits, totals=totals, nanos=nanos)
                return
            except (redis.RedisError, OSError):
                # An RPUSH that timed out may have landed as well: the drain then ingests an event
                # already stored, which stores nothing twice (idempotent by event_id).
                logger.warning("Redis is unreachable: gateway events are written to the database directly")
        try:
            await self.direct.write(key, event)
        except Exception as exc:
            self._storage_lost()
            raise EventNotStored(event["event_id"]) from exc
        if limits:
            self.spend.count_here(limits=limits, nanos=nanos, at=at)

    def _storage_lost(self) -> None:
        if not self.unavailable:
            logger.error("Neither Redis nor the database stores gateway events: calls are refused until one does")
        self.unavailable = True
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._storage_probe())

    async def _storage_probe(self) -> None:
        while self.unavailable:
            await asyncio.sleep(PROBE_SECONDS)
            if await self._storage_answers():
                self.unavailable = False
                logger.warning("Gateway events are stored again: calls are accepted")

    async def _storage_answers(self) -> bool:
        if self.redis is not None and not redis_url_down(self.redis_url):
            try:
                await self.redis.ping()
                return True
            except (redis.RedisError, OSError):
                pass
        try:
            await asyncio.to_thread(_database_ping)
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.direct.close()
        if self._probe is not None:
            self._probe.cancel()
        if self.redis is not None:
            await self.redis.aclose()


class CallRecord:
    """One call's event, built from its request and what the provider reported."""

    def __init__(
        self, *, gateway, key, provider, request_model, sent, attributes, started_at, clock, call, limits=(), scope=""
    ) -> None:
        self.gateway = gateway
        self.limits: list[HardLimit] = list(limits)  # the hard-limit budgets the call draws on
        self.key = key
        self.provider = provider
        self.request_model = request_model if isinstance(request_model, str) else ""
        self.sent = sent
        self.attributes = attributes
        self.started_at = started_at
        self.clock = clock
        self.call = call
        self.first_byte_ms: int | None = None
        # The provider scope the call bills to: the credential's, or OpenAI's openai-project response
        # header (apps.gateway.relay). The gateway knows it better than a client's header.
        self.scope = scope

    async def save(self, *, outcome: str, usage_missing: bool) -> None:
        call = self.call
        attributes = dict(self.attributes)
        if self.first_byte_ms is not None:
            attributes["time_to_first_token_ms"] = self.first_byte_ms
        tokens = TokenCounts(**call.tokens) if call.usage is not None else TokenCounts()
        event = Event(
            event_id=call.response_id[:128] or f"gw-{uuid.uuid4().hex}",
            timestamp=datetime.fromtimestamp(self.started_at, UTC),
            provider=self.provider,
            model=(call.model or self.request_model or "unknown")[:128],
            tokens=tokens,  # whatever usage the provider reported, whatever the outcome (a stream cut off, a 5xx)
            tags={**self.sent, "provider_scope": self.scope} if self.scope else dict(self.sent),
            service_tier=call.tier,
            outcome=outcome[:32],
            latency_ms=round((time.perf_counter() - self.clock) * 1000),
            usage_missing=usage_missing,
            attributes={name: str(value) for name, value in attributes.items()},
        )
        nanos = 0
        if self.limits:
            rating = event_rate(
                provider=event.provider,
                model=event.model,
                timestamp=event.timestamp,
                tokens=tokens,
                service_tier=event.service_tier,
                prices=self.gateway.prices,
            )
            nanos = nanos_of(rating.billed_cost)
        # Raises EventNotStored: the caller then answers with an error (apps.gateway.outage).
        await self.gateway.recorder.record(self.key, event, limits=self.limits, nanos=nanos)
        if self.limits:
            self.gateway.spend_counted()
