"""OpenAI and Anthropic SDK clients pointed at the attribution gateway, with default and per-call tags."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["anthropic_client", "openai_client", "tags"]

# Tag name → the header the gateway reads it from.
TAG_HEADERS = {
    "team": "X-Attribution-Team",
    "product": "X-Attribution-Product",
    "feature": "X-Attribution-Feature",
    "environment": "X-Attribution-Environment",
    "customer": "X-Attribution-Customer",
    "agent": "X-Attribution-Agent",
    "trace_id": "X-Attribution-Trace-Id",
    "person": "X-Attribution-Person",  # who made the call: an email or the provider's user id
    "provider_scope": "X-Attribution-Provider-Scope",  # used when the gateway's credential names none
}
_call_tags: ContextVar[dict[str, str] | None] = ContextVar("attribution_call_tags", default=None)


def _headers(values: dict[str, str | None]) -> dict[str, str]:
    unknown = sorted(set(values) - set(TAG_HEADERS))
    if unknown:
        raise TypeError(f"Unknown tags: {', '.join(unknown)}. Choose from {', '.join(TAG_HEADERS)}.")
    return {TAG_HEADERS[name]: str(value) for name, value in values.items() if value}


@contextlib.contextmanager
def tags(**values: str | None) -> Iterator[None]:
    """Tags for the calls made inside the block (e.g. the customer of the current request);
    nested blocks add to the outer ones. Safe across threads and asyncio tasks (a ContextVar)."""
    token = _call_tags.set({**(_call_tags.get() or {}), **_headers(values)})
    try:
        yield
    finally:
        _call_tags.reset(token)


def _add_call_tags(request) -> None:
    for header, value in (_call_tags.get() or {}).items():
        request.headers[header] = value


async def _add_call_tags_async(request) -> None:
    _add_call_tags(request)


def _settings(gateway_url: str | None, api_key: str | None) -> tuple[str, str]:
    url = (gateway_url or os.environ.get("ATTRIBUTION_GATEWAY_URL", "http://127.0.0.1:8000")).rstrip("/")
    key = api_key or os.environ.get("ATTRIBUTION_API_KEY", "")
    if not key:
        raise ValueError("Give api_key= or set ATTRIBUTION_API_KEY (a project API key, not a provider key).")
    return url, key


def openai_client(
    *, gateway_url: str | None = None, api_key: str | None = None, asynchronous: bool = False, **default_tags
):
    """An `openai.OpenAI` (or `AsyncOpenAI`) whose calls go through the gateway with `default_tags`."""
    import openai

    url, key = _settings(gateway_url, api_key)
    kwargs = {"base_url": f"{url}/gateway/openai/v1", "api_key": key, "default_headers": _headers(default_tags)}
    # The SDK's own HTTP client classes (its defaults: timeouts, connection limits), plus the hook.
    if asynchronous:
        http_client = openai.DefaultAsyncHttpxClient(event_hooks={"request": [_add_call_tags_async]})
        return openai.AsyncOpenAI(**kwargs, http_client=http_client)
    return openai.OpenAI(**kwargs, http_client=openai.DefaultHttpxClient(event_hooks={"request": [_add_call_tags]}))


def anthropic_client(
    *, gateway_url: str | None = None, api_key: str | None = None, asynchronous: bool = False, **default_tags
):
    """An `anthropic.Anthropic` (or `AsyncAnthropic`) whose calls go through the gateway with `default_tags`."""
    import anthropic

    url, key = _settings(gateway_url, api_key)
    kwargs = {"base_url": f"{url}/gateway/anthropic", "api_key": key, "default_headers": _headers(default_tags)}
    if asynchronous:
        http_client = anthropic.DefaultAsyncHttpxClient(event_hooks={"request": [_add_call_tags_async]})
        return anthropic.AsyncAnthropic(**kwargs, http_client=http_client)
    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [_add_call_tags]})
    return anthropic.Anthropic(**kwargs, http_client=http_client)
