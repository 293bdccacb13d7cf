"""A gateway process SIGKILLed in the middle of streams: every call whose stream completed is stored once."""

from __future__ import annotations

import time

import pytest

from apps.gateway.services import EVENTS_LIST
from tests.factories import ApiKeyFactory
from tests.gateway.upstream import fake_provider_start

from .processes import GatewayProcess
from .traffic import Traffic, gateway_calls, stored_counts

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def provider():
    server = fake_provider_start()
    server.chunk_delay = 0.02  # a stream lasts about 0.2 s: the kill finds several under way
    yield server
    server.shutdown()
    server.server_close()


def test_every_stream_completed_before_a_sigkill_is_stored_once(tmp_path, redis_server, provider, team):
    key = ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "staging"})
    env = {
        "GATEWAY_REDIS_URL": redis_server.url,
        "CACHE_URL": redis_server.url,
        "GATEWAY_OPENAI_UPSTREAM": provider.url,
        # The killed process never drains: what the clients received can only have survived in Redis.
        "GATEWAY_DRAIN_INTERVAL_SECONDS": "3600",
    }
    gateway = GatewayProcess(log=tmp_path / "killed.log", env=env)
    traffic = Traffic()
    traffic.run(gateway_calls(gateway.url, key.raw_key, streams_only=True), threads=4)
    time.sleep(3)

    gateway.kill()
    traffic.stop()
    completed = traffic.answered_ids()
    assert len(completed) >= 10
    assert traffic.failed, "no stream was under way when the process died"
    assert redis_server.client().llen(EVENTS_LIST) >= len(completed)

    # Started again (as docker-compose's restart policy does), the gateway drains what was left.
    restarted = GatewayProcess(log=tmp_path / "restarted.log", env={**env, "GATEWAY_DRAIN_INTERVAL_SECONDS": "0.2"})
    try:
        deadline = time.monotonic() + 30
        while set(stored_counts(completed)) != completed:
            assert time.monotonic() < deadline, "the restarted gateway did not drain the completed calls"
            time.sleep(0.2)
    finally:
        restarted.stop()
    assert set(stored_counts(completed).values()) == {1}
