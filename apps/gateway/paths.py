"""One canonical spelling of a gateway path, and what the gateway does with each (provider, method, path).

The path is decoded and normalised exactly once, from the raw request target: the same string is
then matched, recorded, refused and sent upstream, so no other spelling of a recorded path
(`./`, `x/../`, `%2e%2e`, `%2f`) can reach the provider unseen by the policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from .errors import Refused

PROVIDERS = ("openai", "anthropic")
# Recorded endpoints (POST): provider → {path: endpoint}. Every other POST, PUT, PATCH or DELETE
# is refused unless GATEWAY_PASSTHROUGH lists its prefix.
RECORDED = {
    "openai": {
        "/v1/chat/completions": "chat",
        "/v1/completions": "completions",
        "/v1/responses": "responses",
        "/v1/embeddings": "embeddings",
        "/v1/images/generations": "images",
        "/v1/images/edits": "images",
        "/v1/images/variations": "images",
        "/v1/audio/speech": "speech",
        "/v1/audio/transcriptions": "transcriptions",
        "/v1/audio/translations": "transcriptions",
        "/v1/moderations": "moderations",
    },
    "anthropic": {
        "/v1/messages": "messages",
        "/v1/messages/count_tokens": "count_tokens",
    },
}
# Recorded paths that take multipart uploads: their few small fields are read as the body streams
# upstream (apps.gateway.forms); every other recorded body is JSON, read whole (bounded).
FORM_PATHS = {"/v1/images/edits", "/v1/images/variations", "/v1/audio/transcriptions", "/v1/audio/translations"}
# Methods that cannot spend: passed through (with the team rule) without the tag or budget policy.
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# Decoded characters no provider path has, which some server along the way could read as the end
# of the path, a query, a fragment or a header: refused rather than passed on.
_FORBIDDEN = {"?", "#", "%", "\\"} | {chr(c) for c in range(0x20)} | {"\x7f"}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters kept as they are when the canonical path is encoded again for the upstream URL.
_SAFE = "/:@!$&'()*+,;=-._~"


class PathRefused(Refused):
    """A path that does not normalise to one clean spelling, or is outside the gateway's routes."""

    def __init__(self, status: int, code: str, message: str, provider: str) -> None:
        super().__init__(status, code, message)
        self.provider = provider


@dataclass(frozen=True)
class Route:
    provider: str
    path: str  # canonical, from /v1 on: what is matched, recorded and sent upstream
    method: str
    endpoint: str | None  # a recorded endpoint's name, else None
    passthrough: bool  # a spending call an admin allowed (GATEWAY_PASSTHROUGH): forwarded unrecorded

    @property
    def spends(self) -> bool:
        """A call that can spend: recorded or passed through, always under the tag and budget policies."""
        return self.method not in READ_METHODS

    @property
    def allowed(self) -> bool:
        return not self.spends or self.endpoint is not None or self.passthrough

    @property
    def upstream_path(self) -> str:
        return quote(self.path, safe=_SAFE)


def _provider_of(raw_path: bytes) -> str:
    return "anthropic" if raw_path.lower().startswith(b"/gateway/anthropic") else "openai"


def path_normalize(raw_path: bytes) -> str:
    """The canonical path of a raw request target: percent-decoded once, dot segments resolved,
    empty segments dropped. Raises PathRefused for anything that is not one clean spelling."""
    provider = _provider_of(raw_path)

    def refuse(message: str) -> PathRefused:
        return PathRefused(400, "invalid_path", message, provider)

    try:
        encoded = raw_path.decode("ascii")
    except UnicodeDecodeError:
        raise refuse("The path must be ASCII; percent-encode anything else.") from None
    if _BAD_ESCAPE.search(encoded):
        raise refuse("The path has a malformed percent-encoding.")
    try:
        decoded = unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("The path's percent-encoding is not UTF-8.") from None
    if found := sorted({char for char in decoded if char in _FORBIDDEN}):
        shown = ", ".join(repr(char) for char in found)
        raise refuse(f"The path may not contain (encoded or not) {shown}: no provider path has them.")
    segments: list[str] = []
    for segment in decoded.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise refuse("The path climbs above the root with '..'.")
            segments.pop()
        else:
            segments.append(segment)
    return "/" + "/".join(segments)


def route_resolve(*, raw_path: bytes, method: str, passthrough: tuple[str, ...]) -> Route:
    """The route of a request: its provider, canonical path, recorded endpoint and whether an
    admin allowed it through. Raises PathRefused for a path outside the gateway's two routes."""
    path = path_normalize(raw_path)
    for provider in PROVIDERS:
        prefix = f"/gateway/{provider}"
        if path.startswith(prefix + "/v1/"):
            api_path = path[len(prefix) :]
            endpoint = RECORDED[provider].get(api_path) if method == "POST" else None
            allowed = any(path == p or path.startswith(p + "/") for p in passthrough)
            return Route(provider, api_path, method, endpoint, passthrough=allowed and endpoint is None)
    raise PathRefused(
        404, "unknown_route", "Use /gateway/openai/v1/… or /gateway/anthropic/v1/….", _provider_of(raw_path)
    )
