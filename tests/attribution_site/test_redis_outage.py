"""After a failed Redis connection, this process leaves that Redis alone for a moment."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from attribution_site import redis_outage
from attribution_site.redis_outage import redis_client


class ClosingServer:
    """A TCP server that accepts and at once closes each connection, as a Redis going down does;
    it counts the connection attempts it saw."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def closing_server():
    server = ClosingServer()
    yield server
    server.close()
    redis_outage._down_until.clear()


def _ping(client: redis.Redis) -> None:
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_after_a_failure_no_connection_is_attempted_until_the_retry_delay_passed(closing_server, settings):
    settings.REDIS_OUTAGE_RETRY_SECONDS = 0.5
    client = redis_client(closing_server.url)

    _ping(client)
    _ping(client)
    _ping(client)
    assert closing_server.accepted == 1
    assert redis_outage.redis_url_down(closing_server.url)

    time.sleep(0.6)
    assert not redis_outage.redis_url_down(closing_server.url)
    _ping(client)
    assert closing_server.accepted == 2


def test_a_refused_call_costs_no_connect_timeout(closing_server, settings):
    settings.REDIS_OUTAGE_RETRY_SECONDS = 30
    client = redis_client(closing_server.url)
    _ping(client)

    started = time.perf_counter()
    for _ in range(100):
        _ping(client)

    assert closing_server.accepted == 1
    assert time.perf_counter() - started < settings.REDIS_SOCKET_TIMEOUT_SECONDS


def test_another_redis_is_not_affected(closing_server, settings):
    settings.REDIS_OUTAGE_RETRY_SECONDS = 30
    _ping(redis_client(closing_server.url))

    assert not redis_outage.redis_down("127.0.0.1", 1)
