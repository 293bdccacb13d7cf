"""Redis outages as this process sees them: after a failed connection, Redis is left alone briefly.

The shared cache (settings.CACHES), the gateway's event list and its drain connect through the
connection classes below. Once a connection to a Redis server fails, no new connection to it is
attempted for REDIS_OUTAGE_RETRY_SECONDS: a cache read or a gateway call then costs no connect
attempt (and no connect timeout) and falls back to the database at once. A command failing on
an open connection counts as a failure too, so callers can ask afterwards whether it failed
(`cache_reachable()`) even where the cache hid the error.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from urllib.parse import urlsplit

import redis
import redis.asyncio
from django.conf import settings

logger = logging.getLogger(__name__)

_down_until: dict[tuple[str, int], float] = {}


def redis_down(host: str, port: int) -> bool:
    """True while this process leaves the Redis at host:port alone after a failure."""
    until = _down_until.get((host, port))
    return until is not None and time.monotonic() < until


def _failed(host: str, port: int) -> None:
    if not redis_down(host, port):
        logger.warning(
            "Redis at %s:%s is unreachable: not tried again for %.1f s",
            host,
            port,
            settings.REDIS_OUTAGE_RETRY_SECONDS,
        )
    _down_until[(host, port)] = time.monotonic() + settings.REDIS_OUTAGE_RETRY_SECONDS


def _refused(host: str, port: int) -> redis.ConnectionError:
    return redis.ConnectionError(f"Redis at {host}:{port} failed a moment ago; not tried again yet.")


_FAILURES = (redis.ConnectionError, redis.TimeoutError)


class OutageAwareConnection(redis.Connection):
    # connect_check_health is where every path that opens a socket (connect(), and a command
    # on a closed connection) ends up in redis-py 8; a command failing on an open connection
    # (the server went away under it) counts as a failure too.
    def connect_check_health(self, *args, **kwargs):
        if self._sock is None and redis_down(self.host, self.port):
            raise _refused(self.host, self.port)
        try:
            return super().connect_check_health(*args, **kwargs)
        except _FAILURES:
            _failed(self.host, self.port)
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except _FAILURES:
            _failed(self.host, self.port)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except _FAILURES:
            _failed(self.host, self.port)
            raise


class AsyncOutageAwareConnection(redis.asyncio.Connection):
    async def connect_check_health(self, *args, **kwargs):
        if not self.is_connected and redis_down(self.host, self.port):
            raise _refused(self.host, self.port)
        try:
            return await super().connect_check_health(*args, **kwargs)
        except _FAILURES:
            _failed(self.host, self.port)
            raise

    async def send_packed_command(self, *args, **kwargs):
        try:
            return await super().send_packed_command(*args, **kwargs)
        except _FAILURES:
            _failed(self.host, self.port)
            raise

    async def read_response(self, *args, **kwargs):
        try:
            return await super().read_response(*args, **kwargs)
        except _FAILURES:
            _failed(self.host, self.port)
            raise


def redis_client(url: str) -> redis.Redis:
    """A client that fails fast: short socket timeouts, no retry, and the outage breaker."""
    return redis.Redis.from_url(
        url,
        connection_class=OutageAwareConnection,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
    )


def async_redis_client(url: str) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        url,
        connection_class=AsyncOutageAwareConnection,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT_SECONDS,
        retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),
    )


@lru_cache(maxsize=8)
def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or 6379


def redis_url_down(url: str) -> bool:
    return redis_down(*_address(url))


def cache_reachable() -> bool:
    """False while the shared cache's Redis is left alone after a failure (always True for an
    in-memory cache)."""
    cache = settings.CACHES["default"]
    if not cache["BACKEND"].startswith("django_redis"):
        return True
    return not redis_url_down(cache["LOCATION"])
