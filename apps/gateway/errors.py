"""Gateway refusals in each provider's own error format, so the official SDKs raise their usual errors."""

from __future__ import annotations

import orjson

# HTTP status → (OpenAI error type, Anthropic error type)
ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "authentication_error"),
    403: ("invalid_request_error", "permission_error"),
    404: ("invalid_request_error", "not_found_error"),
    408: ("invalid_request_error", "invalid_request_error"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("insufficient_quota", "rate_limit_error"),
    502: ("server_error", "api_error"),
    504: ("server_error", "timeout_error"),
}


class Refused(Exception):
    """A call the gateway answers itself, before (or instead of) completing it upstream."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(*, provider: str, status: int, code: str, message: str) -> bytes:
    openai_type, anthropic_type = ERROR_TYPES.get(status, ("server_error", "api_error"))
    if provider == "anthropic":
        return orjson.dumps({"type": "error", "error": {"type": anthropic_type, "message": message}})
    return orjson.dumps({"error": {"message": message, "type": openai_type, "param": None, "code": code}})


async def error_send(send, *, provider: str, status: int, code: str, message: str) -> None:
    """Answer with the gateway's own error. `x-should-retry: false` keeps the SDKs from retrying
    it (they retry 408, 429 and 5xx by default): a refusal stays a refusal."""
    body = error_body(provider=provider, status=status, code=code, message=message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-gateway-error", code.encode()),
                (b"x-should-retry", b"false"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def secret_mask(body: bytes, *, secret: str) -> bytes:
    """`body` with every occurrence of the provider key replaced, as a provider error may echo it."""
    if not secret or secret.encode() not in body:
        return body
    return body.replace(secret.encode(), f"****{secret[-4:]}".encode() if len(secret) >= 20 else b"****")
