"""The gateway's events go to Redis one RPUSH per batch: the calls ending together share a write,
and each call returns only once Redis holds its event (apps.gateway.recording.RedisAppender)."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio
from django.conf import settings

from apps.gateway.recording import RedisAppender
from apps.gateway.services import EVENTS_LIST
from tests.gateway.server import free_port


class CountingRedis:
    """The real asyncio client, with a record of each RPUSH's entries."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.writes: list[tuple[bytes, ...]] = []

    async def rpush(self, name: str, *entries: bytes) -> int:
        self.writes.append(entries)
        return await self.client.rpush(name, *entries)


@pytest.fixture
def listed():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(EVENTS_LIST)
    yield lambda: client.lrange(EVENTS_LIST, 0, -1)
    client.delete(EVENTS_LIST)
    client.close()


def _run(scenario):
    async def main():
        client = redis.asyncio.Redis.from_url(settings.CELERY_BROKER_URL)
        try:
            return await scenario(CountingRedis(client))
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_events_appended_in_one_tick_go_as_one_rpush_in_order(listed):
    async def scenario(counting):
        appender = RedisAppender(counting)
        await asyncio.gather(*(appender.append(f"event-{i}".encode()) for i in range(5)))
        return counting.writes

    writes = _run(scenario)

    assert writes == [(b"event-0", b"event-1", b"event-2", b"event-3", b"event-4")]
    assert listed() == [b"event-0", b"event-1", b"event-2", b"event-3", b"event-4"]


def test_events_handed_over_during_a_write_go_together_in_the_next(listed):
    async def scenario(counting):
        appender = RedisAppender(counting)
        first = asyncio.create_task(appender.append(b"first"))
        while not counting.writes:  # the first RPUSH is on its way
            await asyncio.sleep(0)
        await asyncio.gather(first, appender.append(b"second"), appender.append(b"third"))
        return counting.writes

    writes = _run(scenario)

    assert writes == [(b"first",), (b"second", b"third")]
    assert listed() == [b"first", b"second", b"third"]


def test_a_call_returns_only_once_redis_holds_its_event(listed):
    async def scenario(counting):
        appender = RedisAppender(counting)
        await appender.append(b"durable")
        return await counting.client.lrange(EVENTS_LIST, 0, -1)

    assert _run(scenario) == [b"durable"]


def test_every_call_of_a_failed_write_gets_its_error_and_a_later_write_still_goes():
    async def scenario():
        client = redis.asyncio.Redis(port=free_port(), socket_connect_timeout=1)  # nothing listens there
        appender = RedisAppender(client)
        outcomes = await asyncio.gather(
            appender.append(b"a"), appender.append(b"b"), appender.append(b"c"), return_exceptions=True
        )
        again = await asyncio.gather(appender.append(b"d"), return_exceptions=True)
        await client.aclose()
        return outcomes, again

    outcomes, again = asyncio.run(scenario())

    assert [type(o) for o in outcomes] == [redis.ConnectionError] * 3
    assert [type(o) for o in again] == [redis.ConnectionError]  # a new write was tried, not a hang
