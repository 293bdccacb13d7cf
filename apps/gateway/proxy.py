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
from collections import Counter
from datetime import date

import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.org.registry import registry
from apps.pricing.rating import catalog
from apps.usage.keys import ApiKeyInfo, api_keys
from apps.usage.tagging import tags_resolve
from attribution_site.redis_outage import redis_client, redis_url_down

from .bodies import ClientGone, Incoming, request_read, usage_requested
from .credentials import Credential, credential_for, provider_credentials
from .errors import Refused, error_send
from .forms import FormFields
from .keys import KeyFinder
from .outage import unavailable_send
from .paths import PathRefused, Route, route_resolve
from .policy import TAG_HEADERS, policy_check, request_tags
from .recording import CallRecord, EventNotStored, Recorder
from .relay import HOP_BY_HOP, response_relay
from .rules import body_clamped, model_rules, requested_caps, rules_check
from .selectors import HardLimits, hard_limits_in_force
from .services import gateway_events_drain, model_rule_hits_add
from .spend import slack_seconds
from .upstream import (
    Upstream,
    UpstreamFailed,
    UpstreamRequest,
    UpstreamUnreachable,
    failed_outcome,
    failed_refusal,
    request_build,
)
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
    return api_keys.get(), registry.get(), provider_credentials.get(), catalog.get(), model_rules.get()


def _budgets_read() -> HardLimits:
    close_old_connections()
    return hard_limits_in_force(today=timezone.now().date())


def _route_check(route: Route) -> None:
    if not route.allowed:
        raise Refused(
            403,
            "endpoint_not_allowed",
            f"{route.method} {route.path} is not recorded by the gateway, so it is refused before it can "
            "spend. An admin can let it through with GATEWAY_PASSTHROUGH.",
        )


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
            self.client = Upstream(read_timeout=settings.GATEWAY_UPSTREAM_TIMEOUT_SECONDS)
            self.upstreams = {
                "openai": settings.GATEWAY_OPENAI_UPSTREAM,
                "anthropic": settings.GATEWAY_ANTHROPIC_UPSTREAM,
            }
            self.key_finder = KeyFinder()
            self.recorder = Recorder(settings.GATEWAY_REDIS_URL)
            self.rule_hits: Counter[tuple[int, int, date, str]] = Counter()
            self.hard_limits = HardLimits(limits={}, complete_until=timezone.now())
            self.exhausted: dict = {}
            await self.refresh(budgets=True)
            self._tasks = [
                asyncio.create_task(self._every(settings.GATEWAY_REFRESH_SECONDS, self.refresh)),
                asyncio.create_task(self._every(settings.GATEWAY_BUDGET_REFRESH_SECONDS, self.budgets_refresh)),
                asyncio.create_task(self._every(settings.GATEWAY_SPEND_POLL_SECONDS, self.spend_poll)),
                asyncio.create_task(self._every(settings.GATEWAY_REFRESH_SECONDS, self.rule_hits_flush)),
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
            with contextlib.suppress(Exception):
                await self.rule_hits_flush()
            await self.recorder.close()
            await self.client.close()
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
        keys, self.registry, self.credentials, self.prices, self.model_rules = await asyncio.to_thread(_snapshots_read)
        if keys is not self.keys:
            self.key_finder.forget_unknown()  # a key made since it was found unknown works at once
        self.keys = keys
        if budgets:
            await self.budgets_refresh()

    async def budgets_refresh(self) -> None:
        """Re-read the hard limits and the rollups' spend, and reset the live counts to it (apps.gateway.spend)."""
        hard_limits = await asyncio.to_thread(_budgets_read)
        try:
            await self.recorder.spend.reset(
                hard_limits, slack_seconds=slack_seconds(settings.GATEWAY_DRAIN_INTERVAL_SECONDS)
            )
        except (redis.RedisError, OSError):
            logger.warning("Redis is unreachable: hard limits are held to the rollups' spend and this process's calls")
        self.hard_limits = hard_limits
        self.spend_counted()

    async def spend_poll(self) -> None:
        """Every process's counted spend of the hard limits, read a few times a second."""
        if not self.hard_limits.limits or self.recorder.redis is None or redis_url_down(self.recorder.redis_url):
            return
        try:
            await self.recorder.spend.poll(self.hard_limits)
        except (redis.RedisError, OSError):
            return
        self.spend_counted()

    async def rule_hits_flush(self) -> None:
        """Add the model rules' hits counted since the last flush to the database (the team page reads them)."""
        if not self.rule_hits:
            return
        hits, self.rule_hits = self.rule_hits, Counter()
        try:
            await asyncio.to_thread(model_rule_hits_add, hits=hits)
        except Exception:
            self.rule_hits.update(hits)  # the database is down: kept for the next flush
            raise

    def spend_counted(self) -> None:
        self.exhausted = self.recorder.spend.exhausted(self.hard_limits)

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
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        key = await self._key_find(headers)
        _route_check(route)
        incoming = await request_read(receive, route=route, headers=headers)
        sent = request_tags(headers=headers, body_customer=incoming.facts.customer)
        resolved = tags_resolve(key=key, sent=sent, reg=self.registry)
        attributes = self._policies_apply(route=route, key=key, resolved=resolved, incoming=incoming)
        hide_usage = (
            route.endpoint in USAGE_CHUNK_ENDPOINTS and incoming.facts.stream and not incoming.facts.usage_requested
        )
        if hide_usage:
            incoming.body = usage_requested(incoming.body, facts=incoming.facts)
        credential = credential_for(self.credentials, provider=route.provider, team_id=resolved.charged_team_id)
        request = self._upstream_request(scope, route=route, incoming=incoming, credential=credential)
        record = self._record_for(
            route=route,
            key=key,
            incoming=incoming,
            credential=credential,
            sent=sent,
            attributes=attributes,
            resolved=resolved,
            started_at=started_at,
            clock=clock,
        )
        if record is not None and self.recorder.unavailable:  # its event could be stored nowhere
            await unavailable_send(send, provider=route.provider)
            return
        reserved = self._admit(record)
        try:
            response = await self._send(request, record=record, form=incoming.form)
            try:
                await response_relay(
                    send,
                    receive,
                    response,
                    provider=route.provider,
                    secret=credential.key,
                    record=record,
                    hide_usage=hide_usage,
                )
            finally:
                response.close()
        finally:
            self.recorder.spend.release(reserved)

    def _admit(self, record: CallRecord | None) -> list:
        """Hold a call drawing on hard limits to the calls already in flight (apps.gateway.spend):
        refused (429) when they are expected to reach a limit; else the limits it is in flight on."""
        if record is None or not record.limits or settings.GATEWAY_BUDGET_POLICY != "enforce":
            return []
        refusal = self.recorder.spend.admit(record.limits)
        if refusal:
            raise Refused(429, "budget_exhausted", refusal)
        return record.limits

    async def _key_find(self, headers: dict[str, str]) -> ApiKeyInfo:
        """The call's project key, or Refused 401 (none, unknown) / 403 (revoked)."""
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
        return key

    def _policies_apply(self, *, route: Route, key: ApiKeyInfo, resolved, incoming: Incoming) -> dict[str, str]:
        """The team rule, tag policy, hard limits and model rules (which may clamp the body); raises
        Refused for a call they refuse, else returns the warnings its event carries."""
        attributes = policy_check(resolved=resolved, exhausted=self.exhausted, spends=route.spends)
        if self.model_rules and route.endpoint and incoming.form is None:
            incoming.body = self._model_rules_apply(
                route=route, key=key, resolved=resolved, facts=incoming.facts, body=incoming.body, attributes=attributes
            )
        return attributes

    def _upstream_request(self, scope, *, route: Route, incoming: Incoming, credential: Credential) -> UpstreamRequest:
        """The provider's request: the client's headers less the dropped ones, the credential's own."""
        headers = [(n, v) for n, v in scope["headers"] if n.lower() not in DROPPED_REQUEST_HEADERS]
        headers += [*credential.headers(route.provider), (b"accept-encoding", b"identity")]
        if not isinstance(incoming.body, bytes) and incoming.length is not None:
            headers.append((b"content-length", str(incoming.length).encode()))
        query = scope.get("query_string", b"")
        url = self.upstreams[route.provider] + route.upstream_path + (f"?{query.decode('latin-1')}" if query else "")
        try:
            return request_build(method=route.method, url=url, headers=headers, body=incoming.body)
        except ValueError as exc:
            raise Refused(400, "invalid_request", f"The request cannot be forwarded: {exc}.") from None

    def _record_for(
        self,
        *,
        route: Route,
        key: ApiKeyInfo,
        incoming: Incoming,
        credential: Credential,
        sent,
        attributes,
        resolved,
        started_at,
        clock,
    ) -> CallRecord | None:
        """The event a recorded endpoint's call will store (None for an unrecorded path)."""
        if not route.endpoint:
            return None
        limits = (
            self.hard_limits.drawn_on(product_id=resolved.product_id, team_id=resolved.charged_team_id)
            if route.spends
            else ()
        )
        return CallRecord(
            gateway=self,
            key=key,
            provider=route.provider,
            request_model=incoming.facts.model,
            sent=sent,
            attributes=attributes,
            started_at=started_at,
            clock=clock,
            call=CallUsage(provider=route.provider, endpoint=route.endpoint),
            limits=limits,
            scope=credential.scope,
        )

    def _model_rules_apply(self, *, route, key, resolved, facts, body: bytes, attributes: dict) -> bytes:
        """The body as the model rules let it go (clamped, or as sent); raises Refused for a call an
        enforced rule refuses. Every hit is counted against the team charged (else the key's)."""
        team_id = resolved.charged_team_id or key.team_id
        day = timezone.now().date()

        def count(rule_id: int, outcome: str) -> None:
            self.rule_hits[(rule_id, team_id, day, outcome)] += 1

        verdict = rules_check(
            rules=self.model_rules,
            resolved=resolved,
            endpoint=route.endpoint,
            model=facts.model,
            caps=requested_caps(endpoint=route.endpoint, caps=facts.caps),
            count=count,
        )
        if verdict.warnings:
            attributes["gateway_warning_model_rule"] = "; ".join(verdict.warnings)[:256]
        if verdict.clamp_to is not None:
            body = body_clamped(body, endpoint=route.endpoint, cap=verdict.clamp_to)
        return body

    async def _send(self, request: UpstreamRequest, *, record: CallRecord | None, form: FormFields | None):
        """The provider's response (headers only, its body still to come). A call that failed after
        it may have reached the provider is recorded (usage unknown) and answered 502 / 504."""
        try:
            response = await self.client.send(request)
        except UpstreamUnreachable as exc:
            logger.warning("Upstream %s unreachable: %s", request.url, exc)
            raise Refused(502, "upstream_unreachable", f"The provider could not be reached: {exc.name}.") from None
        except UpstreamFailed as exc:
            logger.warning("Upstream %s failed: %s", request.url, exc)
            if record is not None:
                if form is not None:
                    record.request_model = form.values.get("model", "")
                with contextlib.suppress(EventNotStored):  # the client gets an error either way
                    await record.save(outcome=failed_outcome(exc), usage_missing=True)
            raise failed_refusal(exc) from None
        if record is not None and form is not None:
            record.request_model = form.values.get("model", "")
        return response


gateway = Gateway()
