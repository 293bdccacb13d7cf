"""What a client receives while the gateway cannot store calls, in the provider's error format.

Before spend: 503 `storage_unavailable`, the call never reaches the provider. After spend (the
provider answered, but neither Redis nor the database took the event): 503 `event_not_stored`
in place of the answer, or for a stream an error event in place of its terminal event. Both say
`x-should-retry: true`: while storage is down a retry is refused before spend, so retrying
cannot spend without recording; once storage is back the retry is served and recorded.
"""

from __future__ import annotations

import orjson

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (
    "storage_unavailable",
    "The gateway cannot record calls right now (its Redis and its database are unreachable); "
    "the call was not sent to the provider. Retry shortly.",
)
NOT_STORED = (
    "event_not_stored",
    "The provider answered, but the gateway could not record the call (its Redis and its database "
    "are unreachable), so the answer is withheld. Retry shortly.",
)


def _error(*, provider: str, code: str, message: str) -> dict:
    if provider == "anthropic":
        return {"type": "error", "error": {"type": "api_error", "message": message}}
    return {"error": {"message": message, "type": "server_error", "param": None, "code": code}}


async def _send_503(send, *, provider: str, code: str, message: str) -> None:
    body = orjson.dumps(_error(provider=provider, code=code, message=message))
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-gateway-error", code.encode()),
                (b"x-should-retry", b"true"),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def unavailable_send(send, *, provider: str) -> None:
    """Refuse a call before spend while no storage answers."""
    code, message = UNAVAILABLE
    await _send_503(send, provider=provider, code=code, message=message)


async def not_stored_send(send, *, provider: str) -> None:
    """Answer a call whose event could not be stored, in place of the provider's answer."""
    code, message = NOT_STORED
    await _send_503(send, provider=provider, code=code, message=message)


def not_stored_event(*, provider: str) -> bytes:
    """The SSE event sent in place of a stream's terminal event when its call could not be stored:
    the official SDKs raise on it (OpenAI: a `data:` object with `error`; Anthropic: `event: error`)."""
    code, message = NOT_STORED
    data = orjson.dumps(_error(provider=provider, code=code, message=message))
    if provider == "anthropic":
        return b"event: error\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"
