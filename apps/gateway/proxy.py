"""The gateway's ASGI application: authenticate, tag, refuse before spend, pass through, record.

Nothing on a call's path queries the database: keys, registry, provider credentials and the
spent hard-limit budgets are per-process copies refreshed by background loops (an unknown key is
looked up once in a worker thread, so a key created a moment ago works at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
import orjson
import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.org.registry import registry
from apps.usage.keys import ApiKeyInfo, api_key_lookup, api_keys
from apps.usage.models import api_key_hash
from apps.usage.tagging import tags_resolve
from attribution_site.redis_outage import redis_client

from .credentials import credential_for, provider_credentials
from .errors import error_send
from .outage import not_stored_event, not_stored_send, unavailable_send
from .policy import TAG_HEADERS, TagHeaderInvalid, budget_refusal, request_tags
from .recording import CallRecord, EventNotStored, Recorder
from .selectors import hard_limits_exhausted
from .services import gateway_events_drain
from .streams import StreamReader, sse_next
from .usage import CallUsage, error_outcome

logger = logging.getLogger(__name__)

PROVIDERS = ("openai", "anthropic")
# Recorded endpoints; any other path is passed through unrecorded.
RECORDED = {
    "openai": {"/v1/chat/completions": "chat", "/v1/responses": "responses", "/v1/embeddings": "embeddings"},
    "anthropic": {"/v1/messages": "messages"},
}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
# The provider never sees the project key or the attribution headers.
DROPPED_REQUEST_HEADERS = HOP_BY_HOP | {"authorization", "x-api-key", "accept-encoding"} | set(TAG_HEADERS)
DROPPED_RESPONSE_HEADERS = {name.encode() for name in HOP_BY_HOP | {"content-encoding"}}


def _route(path: str) -> tuple[str | None, str]:
    for provider in PROVIDERS:
        prefix = f"/gateway/{provider}"
        if path.startswith(prefix + "/v1/"):
            return provider, path[len(prefix) :]
    return None, ""


def _raw_key(headers: dict[str, str]) -> str:
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return headers.get("x-api-key", "").strip()


def _body_customer(provider: str, payload) -> str:
    """The end user the request names: OpenAI's `user` / `safety_identifier`, Anthropic's metadata.user_id."""
    if not isinstance(payload, dict):
        return ""
    if provider == "anthropic":
        metadata = payload.get("metadata")
        value = metadata.get("user_id") if isinstance(metadata, dict) else None
    else:
        value = payload.get("user") or payload.get("safety_identifier")
    return value.strip() if isinstance(value, str) else ""


def _snapshots_read():
    close_old_connections()
    return api_keys.get(), registry.get(), provider_credentials.get()


def _key_lookup(raw_key: str) -> ApiKeyInfo | None:
    close_old_connections()
    return api_key_lookup(raw_key)


def _budgets_read():
    close_old_connections()
    return hard_limits_exhausted(today=timezone.now().date())


class Gateway:
    def __init__(self) -> None:
        self.started = False
        self._start_lock: asyncio.Lock | None = None
        self._tasks: list[asyncio.Task] = []

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.started:
                return
            self.loop = asyncio.get_running_loop()
            self.client = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.GATEWAY_UPSTREAM_TIMEOUT_SECONDS, connect=10.0),
                # An idle upstream connection is dropped before a provider's typical idle timeout.
                limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=30),
            )
            self.upstreams = {
                "openai": settings.GATEWAY_OPENAI_UPSTREAM,
                "anthropic": settings.GATEWAY_ANTHROPIC_UPSTREAM,
            }
            self.recorder = Recorder(settings.GATEWAY_REDIS_URL)
            self.exhausted: dict = {}
            await self.refresh(budgets=True)
            self._tasks = [
                asyncio.create_task(self._every(settings.GATEWAY_REFRESH_SECONDS, self.refresh)),
                asyncio.create_task(self._every(settings.GATEWAY_BUDGET_REFRESH_SECONDS, self.budgets_refresh)),
            ]
            if settings.GATEWAY_REDIS_URL:
                self._drain_client = redis_client(settings.GATEWAY_REDIS_URL)
                drain_loop = self._every(settings.GATEWAY_DRAIN_INTERVAL_SECONDS, self.drain)
                self._tasks.append(asyncio.create_task(drain_loop))
            self.started = True

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.started:
            await self.recorder.close()
            await self.client.aclose()
        self.started = False

    async def _every(self, seconds: float, job) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                logger.exception("Gateway background job %s failed", job.__name__)

    async def refresh(self, *, budgets: bool = False) -> None:
        self.keys, self.registry, self.credentials = await asyncio.to_thread(_snapshots_read)
        if budgets:
            await self.budgets_refresh()

    async def budgets_refresh(self) -> None:
        self.exhausted = await asyncio.to_thread(_budgets_read)

    async def drain(self) -> int:
        try:
            return await asyncio.to_thread(
                gateway_events_drain, client=self._drain_client, batch=settings.GATEWAY_DRAIN_BATCH
            )
        except redis.RedisError:
            return 0  # Redis is down: calls are being written directly meanwhile

    # --- one call --------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if not self.started:
            await self.start()
        started_at, clock = time.time(), time.perf_counter()
        provider, path = _route(scope["path"])
        if provider is None:
            await error_send(
                send,
                provider="openai",
                status=404,
                code="unknown_route",
                message="Use /gateway/openai/v1/… or /gateway/anthropic/v1/….",
            )
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        raw_key = _raw_key(headers)
        key = self.keys.get(api_key_hash(raw_key)) if raw_key else None
        if key is None and raw_key:
            key = await asyncio.to_thread(_key_lookup, raw_key)
        if key is None:
            message = "Unknown API key." if raw_key else "Send a project API key as the provider API key."
            await error_send(send, provider=provider, status=401, code="invalid_api_key", message=message)
            return
        if key.revoked:
            await error_send(
                send, provider=provider, status=403, code="revoked_api_key", message="This API key is revoked."
            )
            return
        try:
            body = await self._body_read(receive)
        except _ClientGone:
            return  # left before sending its whole request: nothing is sent upstream
        if body is None:
            await error_send(
                send,
                provider=provider,
                status=413,
                code="request_too_large",
                message=f"The request body is larger than {settings.GATEWAY_MAX_BODY_BYTES} bytes.",
            )
            return
        endpoint = RECORDED[provider].get(path) if scope["method"] == "POST" else None
        payload = None
        if endpoint:
            with contextlib.suppress(orjson.JSONDecodeError):
                payload = orjson.loads(body)
        try:
            sent = request_tags(headers=headers, body_customer=_body_customer(provider, payload))
        except TagHeaderInvalid as exc:
            await error_send(send, provider=provider, status=400, code="invalid_tag", message=str(exc))
            return
        attributes: dict[str, str] = {}
        if endpoint:
            resolved = tags_resolve(key=key, sent=sent, reg=self.registry)
            if resolved.missing:
                environment = resolved.environment or "(none given)"
                message = (
                    f"Missing required tags for environment {environment}: {', '.join(resolved.missing)}. "
                    "Send them as X-Attribution-* headers or set them on the API key."
                )
                if settings.GATEWAY_TAG_POLICY == "enforce":
                    await error_send(send, provider=provider, status=400, code="missing_tags", message=message)
                    return
                attributes["gateway_warning_missing_tags"] = ",".join(resolved.missing)
            refusal = budget_refusal(exhausted=self.exhausted, key=key, resolved=resolved)
            if refusal:
                if settings.GATEWAY_BUDGET_POLICY == "enforce":
                    await error_send(send, provider=provider, status=429, code="budget_exhausted", message=refusal)
                    return
                attributes["gateway_warning_budget"] = refusal[:256]
        stream = isinstance(payload, dict) and payload.get("stream") is True
        hide_usage = False
        if endpoint == "chat" and stream:
            options = payload.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage")):
                payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
                body = orjson.dumps(payload)
                hide_usage = True

        upstream_headers = [(name, value) for name, value in headers.items() if name not in DROPPED_REQUEST_HEADERS]
        credential = credential_for(self.credentials, provider=provider, team_id=key.team_id)
        if credential and provider == "openai":
            upstream_headers.append(("authorization", f"Bearer {credential}"))
        elif credential:
            upstream_headers.append(("x-api-key", credential))
        # Without any credential the call goes out without one, and the provider's 401 comes back.
        upstream_headers.append(("accept-encoding", "identity"))
        query = scope.get("query_string", b"")
        url = self.upstreams[provider] + path + (f"?{query.decode('latin-1')}" if query else "")
        request = self.client.build_request(scope["method"], url, headers=upstream_headers, content=body)
        if endpoint and self.recorder.unavailable:  # its event could be stored nowhere: refused before spend
            await unavailable_send(send, provider=provider)
            return
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            logger.warning("Upstream %s unreachable: %r", url, exc)
            await error_send(
                send,
                provider=provider,
                status=502,
                code="upstream_unreachable",
                message=f"The provider could not be reached: {type(exc).__name__}.",
            )
            return
        try:
            response_headers = [
                (name, value) for name, value in response.headers.raw if name.lower() not in DROPPED_RESPONSE_HEADERS
            ]
            call = CallUsage(provider=provider, endpoint=endpoint or "")
            record = CallRecord(
                gateway=self,
                key=key,
                provider=provider,
                request_model=payload.get("model") if isinstance(payload, dict) else None,
                sent=sent,
                attributes=attributes,
                started_at=started_at,
                clock=clock,
                call=call,
            )
            if endpoint is None:
                await self._relay(send, response, response_headers)
            elif response.status_code < 400 and "text/event-stream" in response.headers.get("content-type", ""):
                await self._stream(send, receive, response, response_headers, record, hide_usage=hide_usage)
            else:
                await self._whole(send, response, response_headers, record)
        finally:
            await response.aclose()

    async def _body_read(self, receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > settings.GATEWAY_MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _relay(self, send, response: httpx.Response, headers) -> None:
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _whole(self, send, response: httpx.Response, headers, record: CallRecord) -> None:
        body = await response.aread()
        parsed = None
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed = orjson.loads(body)
        if response.status_code >= 400:
            outcome = error_outcome(parsed, response.status_code)
        else:
            record.call.response_read(parsed)
            outcome = "success"
        try:
            await record.save(outcome=outcome, usage_missing=response.status_code < 400 and record.call.usage is None)
        except EventNotStored:
            await not_stored_send(send, provider=record.provider)
            return
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, send, receive, response, headers, record: CallRecord, *, hide_usage: bool) -> None:
        disconnected = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()

        reader = StreamReader(record.call, hide_usage=hide_usage)
        tail: list[bytes] = []
        relay = asyncio.create_task(self._stream_relay(send, response, headers, reader, record, tail))
        watcher = asyncio.create_task(watch())
        done, _ = await asyncio.wait({relay, watcher}, return_when=asyncio.FIRST_COMPLETED)
        outcome = record.call.error or "success"
        if relay not in done:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            outcome = "client_disconnected"
        watcher.cancel()
        if relay in done and relay.exception() is not None:
            logger.warning("Upstream stream broke off: %r", relay.exception())
            outcome = "upstream_disconnected"
        # Durable before the client receives the terminal event (held back in `tail`).
        try:
            await record.save(outcome=outcome, usage_missing=record.call.usage is None)
        except EventNotStored:
            tail[:] = [not_stored_event(provider=record.provider)]
        if outcome != "client_disconnected":
            await send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})

    async def _stream_relay(self, send, response, headers, reader: StreamReader, record: CallRecord, tail) -> None:
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        buffer, ended = b"", False
        async for chunk in response.aiter_raw():
            if ended:
                tail.append(chunk)
                continue
            buffer += chunk
            while (found := sse_next(buffer)) is not None:
                event, buffer = found
                hide, terminal = reader.read(event)
                if terminal:
                    ended = True
                    tail.append(event + buffer)
                    buffer = b""
                    break
                if not hide:
                    if record.first_byte_ms is None:
                        record.first_byte_ms = round((time.perf_counter() - record.clock) * 1000)
                    await send({"type": "http.response.body", "body": event, "more_body": True})
        if buffer:
            tail.append(buffer)


class _ClientGone(Exception):
    pass


gateway = Gateway()
