"""The upstream leg: one aiohttp session per process (a C HTTP parser on asyncio's transports, a
keep-alive pool without a per-request scan), and the provider's response as the relay reads it.

Its failures come out as two exceptions whose names are the ones the gateway's errors quote:
UpstreamUnreachable (nothing reached the provider) and UpstreamFailed (the call may have reached
it; `timeout` when it did not answer in time).
"""

from __future__ import annotations

import asyncio
import contextvars
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import http_writer
from multidict import CIMultiDict
from yarl import URL

from .errors import Refused

# An idle upstream connection is dropped before a provider's typical idle timeout.
KEEPALIVE_SECONDS = 30
CONNECT_SECONDS = 10.0
# A body held whole and larger than this is written in slices of this size, each after the last
# has left: the socket's send buffer then holds a slice, never a second copy of the body.
BODY_SLICE_BYTES = 256 * 1024
# Headers a provider may send longer than aiohttp's default line limit (8 KiB).
MAX_HEADER_BYTES = 64 * 1024


# aiohttp writes header values as UTF-8. A client's value that is not UTF-8 (latin-1 bytes, which
# HTTP allows) is carried as surrogate escapes and written back byte for byte: the writer takes
# the pure-Python path for the request that holds one, the C one otherwise.
_escaped_headers: contextvars.ContextVar[bool] = contextvars.ContextVar("escaped_headers", default=False)
_serialize_headers = http_writer._serialize_headers


def _headers_serialize(status_line: str, headers) -> bytes:
    if not _escaped_headers.get():
        return _serialize_headers(status_line, headers)
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{status_line}\r\n{lines}\r\n".encode("utf-8", "surrogateescape")


http_writer._serialize_headers = _headers_serialize


def _header_value(value: bytes) -> str:
    if value.isascii():
        return value.decode("ascii")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        _escaped_headers.set(True)
        return value.decode("utf-8", "surrogateescape")


class UpstreamUnreachable(Exception):
    """The provider could not be connected to: the call never reached it."""

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"{name}: {cause!r}")
        self.name = name


class UpstreamFailed(Exception):
    """The call failed after it may have reached the provider."""

    def __init__(self, name: str, cause: BaseException, *, timeout: bool) -> None:
        super().__init__(f"{name}: {cause!r}")
        self.name = name
        self.timeout = timeout


def failed_outcome(exc: UpstreamFailed) -> str:
    return "upstream_timeout" if exc.timeout else "upstream_disconnected"


def failed_refusal(exc: UpstreamFailed) -> Refused:
    """The answer to a call that failed upstream before anything of its response was relayed."""
    return Refused(
        504 if exc.timeout else 502,
        "upstream_timeout" if exc.timeout else "upstream_failed",
        f"The provider did not answer: {exc.name}.",
    )


def _failure(exc: BaseException) -> UpstreamFailed:
    timeout = isinstance(exc, asyncio.TimeoutError)  # aiohttp's ServerTimeoutError is one
    name = "ReadTimeout" if timeout else type(exc).__name__
    return UpstreamFailed(name, exc, timeout=timeout)


class RequestBody:
    """A streamed request body, remembering why it stopped early (the gateway's own 408 / 413, or
    the client gone), which aiohttp's writer would otherwise turn into a connection error."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.error: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.chunks:
                yield chunk
        except Exception as exc:
            self.error = exc
            raise


async def _slices(body: bytes) -> AsyncIterator[memoryview]:
    view = memoryview(body)
    for start in range(0, len(view), BODY_SLICE_BYTES):
        yield view[start : start + BODY_SLICE_BYTES]


@dataclass
class UpstreamRequest:
    method: str
    url: URL
    headers: CIMultiDict
    body: bytes | RequestBody | None


def request_build(
    *, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes | AsyncIterator[bytes]
) -> UpstreamRequest:
    """The provider's request; ValueError for one that cannot be sent (a malformed URL)."""
    _escaped_headers.set(False)
    parsed = URL(url, encoded=True)  # the path and query go on as the client sent them
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"invalid URL {url!r}")
    request_headers = CIMultiDict((name.decode("latin-1"), _header_value(value)) for name, value in headers)
    if not isinstance(body, bytes):
        return UpstreamRequest(method=method, url=parsed, headers=request_headers, body=RequestBody(body))
    if len(body) > BODY_SLICE_BYTES:
        request_headers["Content-Length"] = str(len(body))
        return UpstreamRequest(method=method, url=parsed, headers=request_headers, body=RequestBody(_slices(body)))
    return UpstreamRequest(method=method, url=parsed, headers=request_headers, body=body or None)


class UpstreamResponse:
    """The provider's response: status and headers at once, the body as it arrives."""

    __slots__ = ("_response", "headers", "raw_headers", "status_code")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers = response.headers  # case-insensitive
        self.raw_headers = response.raw_headers  # (name, value) bytes, as sent

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (chunked encoding undone, content encoding kept)."""
        content = self._response.content
        try:
            while chunk := await content.readany():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(exc) from exc

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(exc) from exc

    def close(self) -> None:
        """Back to the pool when read to its end, else its connection is closed."""
        self._response.release()


class Upstream:
    """The process's upstream client."""

    def __init__(self, *, read_timeout: float) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0, keepalive_timeout=KEEPALIVE_SECONDS),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_SECONDS, sock_read=read_timeout),
            auto_decompress=False,
            # HTTP(S)_PROXY / NO_PROXY are honoured when set; unset, no call pays for looking them up.
            trust_env=bool(urllib.request.getproxies()),
            # The provider's cookies are not kept between calls of different clients.
            cookie_jar=aiohttp.DummyCookieJar(),
            # A body goes on with the client's content type, or none: aiohttp would add its own.
            skip_auto_headers=("Content-Type",),
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """The response with its headers read, its body still to come."""
        try:
            response = await self.session.request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
            )
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnreachable("ConnectError", exc) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamUnreachable("ConnectTimeout", exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            if isinstance(request.body, RequestBody) and request.body.error is not None:
                raise request.body.error from None
            raise _failure(exc) from exc
        return UpstreamResponse(response)

    async def close(self) -> None:
        await self.session.close()
