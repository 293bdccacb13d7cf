"""The providers' own usage reports mapped onto the canonical event's token counts and tiers.

OpenAI's prompt tokens already include the cached ones; Anthropic's `input_tokens` exclude cache
reads and writes, so they are added back (DESIGN.md, canonical event).
"""

from __future__ import annotations

from typing import Any

from apps.usage.event import SERVICE_TIERS

ZERO_TOKENS = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "cache_write_1h_tokens": 0,
    "reasoning_tokens": 0,
}
# A tier a response names is the canonical service_tier of that name; any other ("default") is standard.


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _details(usage: dict, name: str) -> dict:
    details = usage.get(name)
    return details if isinstance(details, dict) else {}


def openai_chat_tokens(usage: dict) -> dict[str, int]:
    """Chat completions and embeddings: prompt_tokens (cached included), completion_tokens."""
    return {
        **ZERO_TOKENS,
        "input_tokens": _int(usage.get("prompt_tokens")),
        "output_tokens": _int(usage.get("completion_tokens")),
        "cache_read_tokens": _int(_details(usage, "prompt_tokens_details").get("cached_tokens")),
        "reasoning_tokens": _int(_details(usage, "completion_tokens_details").get("reasoning_tokens")),
    }


def openai_responses_tokens(usage: dict) -> dict[str, int]:
    """The Responses API: input_tokens (cached included), output_tokens (reasoning included)."""
    return {
        **ZERO_TOKENS,
        "input_tokens": _int(usage.get("input_tokens")),
        "output_tokens": _int(usage.get("output_tokens")),
        "cache_read_tokens": _int(_details(usage, "input_tokens_details").get("cached_tokens")),
        "reasoning_tokens": _int(_details(usage, "output_tokens_details").get("reasoning_tokens")),
    }


def anthropic_tokens(usage: dict) -> dict[str, int]:
    """Messages: input_tokens exclude cache reads and writes; ephemeral_1h writes are 1-hour writes."""
    cache_read = _int(usage.get("cache_read_input_tokens"))
    cache_write = _int(usage.get("cache_creation_input_tokens"))
    return {
        **ZERO_TOKENS,
        "input_tokens": _int(usage.get("input_tokens")) + cache_read + cache_write,
        "output_tokens": _int(usage.get("output_tokens")),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": min(
            _int(_details(usage, "cache_creation").get("ephemeral_1h_input_tokens")), cache_write
        ),
    }


def service_tier(value: Any) -> str:
    return value if value in SERVICE_TIERS else "standard"


# Each recorded endpoint (apps.gateway.paths.RECORDED) → how its usage maps onto token counts.
# OpenAI's images, audio and responses report input_tokens/output_tokens; chat, legacy
# completions and embeddings report prompt_tokens/completion_tokens.
TOKEN_MAPS = {
    "chat": openai_chat_tokens,
    "completions": openai_chat_tokens,
    "embeddings": openai_chat_tokens,
    "responses": openai_responses_tokens,
    "images": openai_responses_tokens,
    "speech": openai_responses_tokens,
    "transcriptions": openai_responses_tokens,
    "messages": anthropic_tokens,
}
# Endpoints the providers do not charge for: recorded with no tokens, at $0, never usage_missing.
FREE_ENDPOINTS = {"moderations", "count_tokens"}
# Endpoints whose stream events carry `usage` (and `type`) at the top level.
_TOP_LEVEL_STREAMS = {"images", "speech", "transcriptions"}


class CallUsage:
    """What one call's response (whole, or stream event by stream event) says it cost."""

    def __init__(self, *, provider: str, endpoint: str) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self.response_id = ""
        self.model = ""
        self.tier = "standard"
        self.usage: dict | None = None
        self.audio_seconds: float | None = None  # whisper reports duration, not tokens
        self.error = ""

    @property
    def tokens(self) -> dict[str, int]:
        to_tokens = TOKEN_MAPS.get(self.endpoint)
        if self.usage is None or to_tokens is None:
            return dict(ZERO_TOKENS)
        return to_tokens(self.usage)

    @property
    def usage_missing(self) -> bool:
        """The call may have cost something that its response did not report in tokens."""
        return self.usage is None and self.endpoint not in FREE_ENDPOINTS

    def _take(self, body: dict) -> None:
        if isinstance(body.get("id"), str) and not self.response_id:
            self.response_id = body["id"]
        if isinstance(body.get("model"), str) and body["model"]:
            self.model = body["model"]
        if "service_tier" in body:
            self.tier = service_tier(body["service_tier"])
        usage = body.get("usage")
        if isinstance(usage, dict) and usage.get("type") == "duration":
            seconds = usage.get("seconds")
            self.audio_seconds = seconds if isinstance(seconds, int | float) else None
        elif isinstance(usage, dict):
            self.usage = usage

    def response_read(self, body: Any) -> None:
        """A whole (non-streamed) response body."""
        if isinstance(body, dict):
            self._take(body)

    def stream_event_read(self, data: Any) -> None:
        """One streamed event's data, in the order received."""
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if self.provider == "anthropic":
            if kind == "message_start" and isinstance(data.get("message"), dict):
                self._take(data["message"])
            elif kind == "message_delta" and isinstance(data.get("usage"), dict):
                # Counts in message_delta are cumulative: they replace those of message_start.
                self.usage = {**(self.usage or {}), **{k: v for k, v in data["usage"].items() if v is not None}}
            elif kind == "error":
                self.error = _error_type(data) or "error"
        elif self.endpoint == "responses":
            if isinstance(data.get("response"), dict):
                self._take(data["response"])
            if kind in ("response.failed", "error"):
                self.error = "error"
            elif kind == "response.incomplete":
                self.error = "incomplete"
        elif self.endpoint in _TOP_LEVEL_STREAMS:
            self._take(data)
            if kind == "error":
                self.error = _error_type(data) or "error"
        else:
            self._take(data)
            if isinstance(data.get("error"), dict):
                self.error = _error_type(data) or "error"


def _error_type(body: dict) -> str:
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("type"), str):
        return error["type"][:32]
    return ""


def error_outcome(body: Any, status: int) -> str:
    """A provider error's outcome word: its own error type, else the HTTP status."""
    return (_error_type(body) if isinstance(body, dict) else "") or f"http_{status}"
