"""Gateway fixtures: a fake provider on loopback and the project served by uvicorn in front of it."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from decimal import Decimal

import anthropic
import openai
import pytest

from apps.gateway import proxy
from apps.org.models import TagPolicy
from attribution_site import asgi
from tests.factories import ApiKeyFactory, EnvironmentFactory, ModelPriceFactory

from .server import ThreadedServer
from .upstream import fake_provider_start

OPENAI_PROVIDER_KEY = "sk-provider-openai-0000"
ANTHROPIC_PROVIDER_KEY = "sk-ant-provider-0000"


@pytest.fixture
def provider():
    server = fake_provider_start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def prices(db):
    """gpt-4o: $2.50 in, $1.25 cached, $10 out; claude-test-4: the factory's $3/$15 price."""
    ModelPriceFactory(
        provider="openai",
        model="gpt-4o-2024-08-06",
        input_per_mtok=Decimal("2.50"),
        output_per_mtok=Decimal("10"),
        cache_read_per_mtok=Decimal("1.25"),
    )
    ModelPriceFactory(provider="anthropic", model="claude-test-4")
    ModelPriceFactory(
        provider="openai",
        model="gpt-4.1-2025-04-14",
        input_per_mtok=Decimal("2"),
        output_per_mtok=Decimal("8"),
        cache_read_per_mtok=Decimal("0.50"),
    )
    ModelPriceFactory(provider="openai", model="text-embedding-3-small", input_per_mtok=Decimal("0.02"))


def gateway_serve(*, provider, settings, monkeypatch, redis_url: str = "") -> ThreadedServer:
    settings.GATEWAY_OPENAI_UPSTREAM = provider.url
    settings.GATEWAY_ANTHROPIC_UPSTREAM = provider.url
    settings.GATEWAY_OPENAI_API_KEY = OPENAI_PROVIDER_KEY
    settings.GATEWAY_ANTHROPIC_API_KEY = ANTHROPIC_PROVIDER_KEY
    settings.GATEWAY_REDIS_URL = redis_url
    instance = proxy.Gateway()
    monkeypatch.setattr(asgi, "gateway", instance)
    return ThreadedServer(asgi.application, instance)


@pytest.fixture
def gateway_server(db, provider, settings, monkeypatch):
    server = gateway_serve(provider=provider, settings=settings, monkeypatch=monkeypatch)
    yield server
    provider.release.set()
    server.stop()


@pytest.fixture
def api_key(team):
    """The search team's key, pinned to its team, calling from staging (no tag policy there)."""
    return ApiKeyFactory(
        team=team, name="search-service", pinned_tags={"team": "search"}, default_tags={"environment": "staging"}
    )


@pytest.fixture
def production_policy(db):
    TagPolicy.objects.get_or_create(
        environment=EnvironmentFactory(slug="production"),
        defaults={"required_tags": ["team", "product", "environment"]},
    )


@pytest.fixture
def production_key(team, production_policy):
    """The search team's key in production, where a call must name its product."""
    return ApiKeyFactory(team=team, pinned_tags={"team": "search"}, default_tags={"environment": "production"})


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_call(server, method: str, path: str, *, key: str, body: bytes = b"", headers=None) -> RawResponse:
    """A request sent exactly as spelled (http.client keeps `./`, `..` and percent-escapes, which
    the SDKs' URL handling would normalise away)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(
            method,
            path,
            body=body,
            headers={"authorization": f"Bearer {key}", "content-type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def openai_for(server, raw_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/gateway/openai/v1", api_key=raw_key, max_retries=0)


def anthropic_for(server, raw_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{server.url}/gateway/anthropic", api_key=raw_key, max_retries=0)


@pytest.fixture
def openai_client(gateway_server, api_key):
    return openai_for(gateway_server, api_key.raw_key)


@pytest.fixture
def anthropic_client(gateway_server, api_key):
    return anthropic_for(gateway_server, api_key.raw_key)
