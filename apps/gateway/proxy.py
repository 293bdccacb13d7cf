"""The gateway's ASGI application: authenticate, tag, refuse before spend, pass through, record.

Nothing on a call's path queries the database: keys, registry, provider credentials and the
spent hard-limit budgets are per-process copies refreshed by background loops (apps.gateway.keys
looks up a key missing from them once, and remembers an unknown one for a few seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import httpx
import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.org.registry import registry
from apps.usage.keys import ApiKeyInfo, api_keys
from apps.usage.tagging import tags_resolve
from attribution_site.redis_outage import redis_client

from .bodies import BodyLimits, ClientGone, RequestFacts, body_open, body_read, json_facts, usage_requested
from .credentials import credential_for, provider_credentials
from .errors import Refused, error_send
from .forms import FormFields
from .keys import KeyFinder
from .outage import unavailable_send
from .paths import FORM_PATHS, PathRefused, Route, route_resolve
from .policy import TAG_HEADERS, policy_check, request_tags
from .recording import CallRecord, EventNotStored, Recorder
from .relay import HOP_BY_HOP, response_relay
from .selectors import hard_limits_exhausted
from .services import gateway_events_drain
from .usage import CallUsage

logger = logging.getLogger(__name__)

# Never sent upstream: the project key, the attribution headers, the client's cookies and its
# choice of provider organisation and project (the credential's own are sent instead), and
# method overrides that could turn a passed-through read into a write.
DROPPED_REQUEST_HEADERS = {
    name.encode()
    for name in HOP_BY_HOP
    | set(TAG_HEADERS)
    | {
        "authorization",
        "x-api-key",
        "accept-encoding",
        "cookie",
        "openai-organization",
        "openai-project",
        "expect",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    }
}
# Streamed OpenAI endpoints whose usage chunk the gateway asks for when the client did not.
USAGE_CHUNK_ENDPOINTS = {"chat", "completions"}


def _raw_key(headers: dict[str, str]) -> str:
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return headers.get("x-api-key", "").strip()


def _snapshots_read():
    close_old_connections()
    return api_keys.get(), registry.get(), provider_credentials.get()


def _budgets_read():
    close_old_connections()
    return hard_limits_exhausted(today=timezone.now().date())


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


class Gateway:
    def __init__(self) -> None:
        self.started = False
        self._start_lock: asyncio.Lock | None = None
        self._tasks: list[asyncio.Task] = []
        self.keys: dict[str, ApiKeyInfo] = {}

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
            self.key_finder = KeyFinder()
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
            self.key_finder.close()
        self.started = False

    async def _every(self, seconds: float, job) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                logger.exception("Gateway background job %s failed", job.__name__)

    async def refresh(self, *, budgets: bool = False) -> None:
        keys, self.registry, self.credentials = await asyncio.to_thread(_snapshots_read)
        if keys is not self.keys:
            self.key_finder.forget_unknown()  # a key made since it was found unknown works at once
        self.keys = keys
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
        # ASGI decodes scope["path"] already; the one decoding that counts is done on raw_path.
        raw_path = scope.get("raw_path") or scope["path"].encode()
        try:
            route = route_resolve(raw_path=raw_path, method=scope["method"], passthrough=settings.GATEWAY_PASSTHROUGH)
        except PathRefused as exc:
            await error_send(send, provider=exc.provider, status=exc.status, code=exc.code, message=exc.message)
            return
        try:
            await self._call(scope, receive, send, route, started_at=started_at, clock=clock)
        except Refused as exc:
            await error_send(send, provider=route.provider, status=exc.status, code=exc.code, message=exc.message)
        except ClientGone:
            pass  # left before sending its whole request: nothing completed upstream

    async def _call(self, scope, receive, send, route: Route, *, started_at: float, clock: float) -> None:
        provider = route.provider
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        raw_key = _raw_key(headers)
        key = await self.key_finder.find(raw_key=raw_key, snapshot=self.keys) if raw_key else None
        if key is None:
            raise Refused(
                401,
                "invalid_api_key",
                "Unknown API key." if raw_key else "Send a project API key as the provider API key.",
            )
        if key.revoked:
            raise Refused(403, "revoked_api_key", "This API key is revoked.")
        if not route.allowed:
            raise Refused(
                403,
                "endpoint_not_allowed",
                f"{route.method} {route.path} is not recorded by the gateway, so it is refused before it can "
                "spend. An admin can let it through with GATEWAY_PASSTHROUGH.",
            )
        limits = BodyLimits(
            max_bytes=settings.GATEWAY_MAX_BODY_BYTES,
            timeout_seconds=settings.GATEWAY_BODY_TIMEOUT_SECONDS,
            deadline=asyncio.get_running_loop().time() + settings.GATEWAY_BODY_TIMEOUT_SECONDS,
        )
        length = _content_length(headers)
        if length is not None and length > limits.max_bytes:
            raise limits.too_large()
        form = FormFields.of(headers.get("content-type", "")) if route.path in FORM_PATHS and route.endpoint else None
        facts = RequestFacts()
        body: bytes | AsyncIterator[bytes]
        if route.endpoint and form is None:
            body = await body_read(receive, limits=limits)
            facts = json_facts(provider=provider, body=body)
        else:
            body = await body_open(receive, limits=limits, form=form)
        sent = request_tags(headers=headers, body_customer=facts.customer)
        resolved = tags_resolve(key=key, sent=sent, reg=self.registry)
        attributes = policy_check(resolved=resolved, exhausted=self.exhausted, spends=route.spends)
        hide_usage = route.endpoint in USAGE_CHUNK_ENDPOINTS and facts.stream and not facts.usage_requested
        if hide_usage:
            body = usage_requested(body, facts=facts)

        credential = credential_for(self.credentials, provider=provider, team_id=resolved.charged_team_id)
        upstream_headers = [(n, v) for n, v in scope["headers"] if n.lower() not in DROPPED_REQUEST_HEADERS]
        upstream_headers += [*credential.headers(provider), (b"accept-encoding", b"identity")]
        if not isinstance(body, bytes) and length is not None:
            upstream_headers.append((b"content-length", str(length).encode()))
        query = scope.get("query_string", b"")
        url = self.upstreams[provider] + route.upstream_path + (f"?{query.decode('latin-1')}" if query else "")
        try:
            request = self.client.build_request(route.method, url, headers=upstream_headers, content=body)
        except (httpx.InvalidURL, ValueError) as exc:
            raise Refused(400, "invalid_request", f"The request cannot be forwarded: {exc}.") from None
        record = None
        if route.endpoint:
            record = CallRecord(
                gateway=self,
                key=key,
                provider=provider,
                request_model=facts.model,
                sent=sent,
                attributes=attributes,
                started_at=started_at,
                clock=clock,
                call=CallUsage(provider=provider, endpoint=route.endpoint),
                scope=credential.scope,
            )
        if record is not None and self.recorder.unavailable:  # its event could be stored nowhere
            await unavailable_send(send, provider=provider)
            return
        response = await self._send(request, record=record, form=form)
        try:
            await response_relay(
                send, receive, response, provider=provider, secret=credential.key, record=record, hide_usage=hide_usage
            )
        finally:
            await response.aclose()

    async def _send(
        self, request: httpx.Request, *, record: CallRecord | None, form: FormFields | None
    ) -> httpx.Response:
        """The provider's response (headers only, its body still to come). A call that failed after
        it may have reached the provider is recorded (usage unknown) and answered 502 / 504."""
        try:
            response = await self.client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            logger.warning("Upstream %s unreachable: %r", request.url, exc)
            raise Refused(
                502, "upstream_unreachable", f"The provider could not be reached: {type(exc).__name__}."
            ) from None
        except httpx.HTTPError as exc:
            logger.warning("Upstream %s failed: %r", request.url, exc)
            timeout = isinstance(exc, httpx.TimeoutException)
            if record is not None:
                if form is not None:
                    record.request_model = form.values.get("model", "")
                outcome = "upstream_timeout" if timeout else "upstream_disconnected"
                with contextlib.suppress(EventNotStored):  # the client gets an error either way
                    await record.save(outcome=outcome, usage_missing=True)
            raise Refused(
                504 if timeout else 502,
                "upstream_timeout" if timeout else "upstream_failed",
                f"The provider did not answer: {type(exc).__name__}.",
            ) from None
        if record is not None and form is not None:
            record.request_model = form.values.get("model", "")
        return response


gateway = Gateway()
