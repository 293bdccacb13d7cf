"""Request bodies: read into a bounded buffer, or streamed to the provider as they arrive, under a
size limit (GATEWAY_MAX_BODY_BYTES) and a deadline (GATEWAY_BODY_TIMEOUT_SECONDS)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
from django.conf import settings

from .errors import Refused
from .forms import FormFields
from .paths import FORM_PATHS, Route


class ClientGone(Exception):
    """The client left before sending its whole request."""


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    timeout_seconds: float
    deadline: float  # the event loop's clock

    def too_large(self) -> Refused:
        # A body cut off here never completes upstream: the provider sees a truncated request.
        return Refused(413, "request_too_large", f"The request body is larger than {self.max_bytes} bytes.")


async def _next(receive, limits: BodyLimits) -> dict:
    try:
        async with asyncio.timeout_at(limits.deadline):
            message = await receive()
    except TimeoutError:
        raise Refused(
            408, "request_timeout", f"The request body did not arrive within {limits.timeout_seconds:g} seconds."
        ) from None
    if message["type"] == "http.disconnect":
        raise ClientGone
    return message


async def body_read(receive, *, limits: BodyLimits) -> bytes:
    """The whole body, for a recorded JSON endpoint whose tags, model and stream flag it holds."""
    buffer = bytearray()
    while True:
        message = await _next(receive, limits)
        chunk = message.get("body", b"")
        if len(buffer) + len(chunk) > limits.max_bytes:
            raise limits.too_large()
        buffer += chunk
        if not message.get("more_body"):
            return bytes(buffer)


async def body_open(receive, *, limits: BodyLimits, form: FormFields | None = None) -> bytes | AsyncIterator[bytes]:
    """The body as bytes when it came in one piece (most reads: empty), else an iterator that
    streams it to the provider chunk by chunk, so no more than a chunk is held at once."""
    first = await _next(receive, limits)
    chunk = first.get("body", b"")
    if len(chunk) > limits.max_bytes:
        raise limits.too_large()
    if form is not None:
        form.write(chunk)
    if not first.get("more_body"):
        return chunk
    return _rest(receive, limits, chunk, form)


async def _rest(receive, limits: BodyLimits, first: bytes, form: FormFields | None) -> AsyncIterator[bytes]:
    size = len(first)
    yield first
    while True:
        message = await _next(receive, limits)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.max_bytes:
            raise limits.too_large()
        if form is not None:
            form.write(chunk)
        if chunk:
            yield chunk
        if not message.get("more_body"):
            return


CAP_NAMES = ("max_tokens", "max_completion_tokens", "max_output_tokens")


@dataclass
class RequestFacts:
    """What the gateway needs from a request body: the model, whether it streams, the end user."""

    model: str = ""
    stream: bool = False
    customer: str = ""
    usage_requested: bool = True  # an OpenAI chat or completions stream asked for its usage chunk
    stream_options_sent: bool = False
    caps: dict[str, int] = field(default_factory=dict)  # max_tokens & co., as sent (apps.gateway.rules)


def json_facts(*, provider: str, body: bytes) -> RequestFacts:
    """The facts of a JSON body. The parsed body is dropped at once: only these few fields stay."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return RequestFacts()  # the provider answers it with its own 400
    if not isinstance(payload, dict):
        return RequestFacts()
    if provider == "anthropic":
        metadata = payload.get("metadata")
        customer = metadata.get("user_id") if isinstance(metadata, dict) else None
    else:
        customer = payload.get("user") or payload.get("safety_identifier")
    options = payload.get("stream_options")
    model = payload.get("model")
    return RequestFacts(
        model=model if isinstance(model, str) else "",
        stream=payload.get("stream") is True,
        customer=customer.strip() if isinstance(customer, str) else "",
        usage_requested=isinstance(options, dict) and bool(options.get("include_usage")),
        stream_options_sent="stream_options" in payload,
        caps={
            name: payload[name]
            for name in CAP_NAMES
            if type(payload.get(name)) is int  # not a bool, a float or a string: the provider refuses those
        },
    )


def usage_requested(body: bytes, *, facts: RequestFacts) -> bytes:
    """The body of an OpenAI stream asking for its usage chunk (`stream_options.include_usage`)."""
    if not facts.stream_options_sent:
        # Spliced in after the opening brace of the (non-empty: it streams) object rather than
        # re-serialised, so the client's bytes go on as sent and no second parse is held.
        start = body.index(b"{") + 1
        return body[:start] + b'"stream_options":{"include_usage":true},' + body[start:]
    payload = orjson.loads(body)
    options = payload.get("stream_options")
    payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    return orjson.dumps(payload)


@dataclass
class Incoming:
    """A call's request as read: its body (whole, or streaming to the provider), what a JSON body
    says, the multipart form parsed as it passes, and the announced length."""

    body: bytes | AsyncIterator[bytes]
    facts: RequestFacts
    form: FormFields | None
    length: int | None


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def request_read(receive, *, route: Route, headers: dict[str, str]) -> Incoming:
    """A recorded JSON endpoint's body read whole (the policies need its model, stream flag and
    end user); any other body opened to stream, within the size and time limits."""
    limits = BodyLimits(
        max_bytes=settings.GATEWAY_MAX_BODY_BYTES,
        timeout_seconds=settings.GATEWAY_BODY_TIMEOUT_SECONDS,
        deadline=asyncio.get_running_loop().time() + settings.GATEWAY_BODY_TIMEOUT_SECONDS,
    )
    length = _content_length(headers)
    if length is not None and length > limits.max_bytes:
        raise limits.too_large()
    form = FormFields.of(headers.get("content-type", "")) if route.path in FORM_PATHS and route.endpoint else None
    if route.endpoint and form is None:
        body = await body_read(receive, limits=limits)
        return Incoming(body=body, facts=json_facts(provider=route.provider, body=body), form=None, length=length)
    body = await body_open(receive, limits=limits, form=form)
    return Incoming(body=body, facts=RequestFacts(), form=form, length=length)
