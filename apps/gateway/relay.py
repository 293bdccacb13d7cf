"""The provider's response relayed to the client: whole (JSON, errors), event by event (streams)
or chunk by chunk (audio, files), with the call's event made durable before the response ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson

from .errors import error_body, secret_mask
from .outage import not_stored_event, not_stored_send
from .recording import CallRecord, EventNotStored
from .streams import StreamReader, sse_next
from .upstream import UpstreamFailed, UpstreamResponse, failed_outcome, failed_refusal
from .usage import error_outcome

logger = logging.getLogger(__name__)

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
# The provider's cookies are its own business with the gateway, not the client's.
DROPPED_RESPONSE_HEADERS = {name.encode() for name in HOP_BY_HOP | {"content-encoding", "set-cookie"}}
# An error body larger than this is not the provider's error format; it is replaced by one.
ERROR_BODY_BYTES = 1024 * 1024


def response_headers(response: UpstreamResponse) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in response.raw_headers if name.lower() not in DROPPED_RESPONSE_HEADERS]


async def response_relay(
    send,
    receive,
    response: UpstreamResponse,
    *,
    provider: str,
    secret: str,
    record: CallRecord | None,
    hide_usage: bool,
) -> None:
    headers = response_headers(response)
    if record is not None and provider == "openai" and response.headers.get("openai-project"):
        record.scope = response.headers["openai-project"].strip()[:255]  # what OpenAI bills the call to
    if response.status_code >= 400:
        await _error(send, response, headers, provider=provider, secret=secret, record=record)
    elif record is None:
        await _chunks(send, response, headers, record=None)
    elif "text/event-stream" in response.headers.get("content-type", ""):
        await _stream(send, receive, response, headers, record, secret=secret, hide_usage=hide_usage)
    elif "json" in response.headers.get("content-type", ""):
        await _whole(send, response, headers, record)
    else:
        await _chunks(send, response, headers, record=record)


async def _save(record: CallRecord, *, outcome: str, usage_missing: bool) -> None:
    if record.call.audio_seconds is not None:
        record.attributes["audio_seconds"] = str(record.call.audio_seconds)
    await record.save(outcome=outcome, usage_missing=usage_missing)


async def _error(send, response, headers, *, provider: str, secret: str, record: CallRecord | None) -> None:
    """A provider error, its key masked; a 5xx that is not the provider's JSON (a proxy's HTML
    page, a cut body) is answered in the provider's format with the same status."""
    status = response.status_code
    body, size = bytearray(), 0
    async for chunk in response.chunks():
        size += len(chunk)
        if size <= ERROR_BODY_BYTES:
            body += chunk
    body = secret_mask(bytes(body), secret=secret) if size <= ERROR_BODY_BYTES else b""
    parsed = None
    with contextlib.suppress(orjson.JSONDecodeError):
        parsed = orjson.loads(body)
    if status >= 500 and not isinstance(parsed, dict):
        body = error_body(
            provider=provider, status=status, code="upstream_error", message=f"The provider answered {status}."
        )
        headers = [(n, v) for n, v in headers if n.lower() != b"content-type"] + [
            (b"content-type", b"application/json")
        ]
    if record is not None:
        record.call.response_read(parsed)
        # A 5xx may have spent (the provider ran, then failed): its cost is unknown, not $0.
        # The provider's own error goes back even when it cannot be recorded: it is no success.
        with contextlib.suppress(EventNotStored):
            await _save(
                record, outcome=error_outcome(parsed, status), usage_missing=status >= 500 and record.call.usage is None
            )
    await send({"type": "http.response.start", "status": status, "headers": [*headers, _length(body)]})
    await send({"type": "http.response.body", "body": body})


def _length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(body)).encode())


async def _whole(send, response, headers, record: CallRecord) -> None:
    try:
        body = await response.read()
    except UpstreamFailed as exc:
        # Cut or stalled mid-body: the provider ran (usage unknown); nothing was relayed yet.
        logger.warning("Upstream response broke off: %s", exc)
        with contextlib.suppress(EventNotStored):  # the client gets an error either way
            await _save(record, outcome=failed_outcome(exc), usage_missing=True)
        raise failed_refusal(exc) from None
    parsed = None
    with contextlib.suppress(orjson.JSONDecodeError):
        parsed = orjson.loads(body)
    record.call.response_read(parsed)
    try:
        await _save(record, outcome="success", usage_missing=record.call.usage_missing)
    except EventNotStored:
        await not_stored_send(send, provider=record.provider)
        return
    await send({"type": "http.response.start", "status": response.status_code, "headers": [*headers, _length(body)]})
    await send({"type": "http.response.body", "body": body})


async def _chunks(send, response, headers, *, record: CallRecord | None) -> None:
    """Relayed as it arrives (audio, files, listings). For a recorded call the last chunk waits
    until the event is durable."""
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    held = b""
    async for chunk in response.chunks():
        if held:
            await send({"type": "http.response.body", "body": held, "more_body": True})
        held = chunk
    if record is not None:
        try:
            await _save(record, outcome="success", usage_missing=record.call.usage_missing)
        except EventNotStored:
            return  # its status is sent: withholding the last bytes leaves the client an incomplete answer
    await send({"type": "http.response.body", "body": held})


async def _stream(send, receive, response, headers, record: CallRecord, *, secret: str, hide_usage: bool) -> None:
    disconnected = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        disconnected.set()

    reader = StreamReader(record.call, hide_usage=hide_usage)
    tail: list[bytes] = []
    relay = asyncio.create_task(_stream_relay(send, response, headers, reader, record, tail, secret=secret))
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
        failure = relay.exception()
        outcome = (
            "upstream_timeout" if isinstance(failure, UpstreamFailed) and failure.timeout else "upstream_disconnected"
        )
    # Durable before the client receives the terminal event (held back in `tail`).
    try:
        await _save(record, outcome=outcome, usage_missing=record.call.usage_missing)
    except EventNotStored:
        tail[:] = [not_stored_event(provider=record.provider)]
    if outcome != "client_disconnected":
        await send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})


async def _stream_relay(
    send, response, headers, reader: StreamReader, record: CallRecord, tail, *, secret: str
) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    buffer, ended = b"", False
    async for chunk in response.chunks():
        buffer += chunk
        while (found := sse_next(buffer)) is not None:
            event, buffer = found
            event = secret_mask(event, secret=secret)
            hide, terminal = reader.read(event)
            if ended or terminal:
                # Read for usage all the same (several images each end with a `completed` event).
                ended = True
                if not hide:
                    tail.append(event)
                continue
            if not hide:
                if record.first_byte_ms is None:
                    record.first_byte_ms = round((time.perf_counter() - record.clock) * 1000)
                await send({"type": "http.response.body", "body": event, "more_body": True})
    if buffer:
        tail.append(secret_mask(buffer, secret=secret))
