"""The client's address as our own reverse proxies saw it (login lockout keys on it)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind `TRUSTED_PROXY_COUNT` proxies that each append the address they saw to
    X-Forwarded-For, the entry the outermost of them appended: entries further left are whatever the
    client chose to send."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")
