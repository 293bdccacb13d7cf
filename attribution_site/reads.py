"""Bounds on API reads: a statement time limit on PostgreSQL and a per-key, per-person throttle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from apps.usage.keys import ApiKeyInfo

from .exceptions import ApplicationError

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


class ReadTimedOut(ApplicationError):
    status = 503


@contextmanager
def read_time_limited() -> Iterator[None]:
    """Runs the reads inside in one transaction whose statements PostgreSQL cancels after
    API_READ_STATEMENT_TIMEOUT_MS, so a heavy report cannot hold a web worker and a database
    backend for minutes while ingestion waits for both. SQLite has no such limit."""
    if connection.vendor != "postgresql":
        yield
        return
    timeout_ms = settings.API_READ_STATEMENT_TIMEOUT_MS
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout_ms}ms"])
            yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != QUERY_CANCELED:
            raise
        raise ReadTimedOut(
            f"The report took longer than {timeout_ms / 1000:g} s and was stopped: ask for fewer days, "
            "group by fewer dimensions, or filter one of them."
        ) from None


class ReadRateThrottle(SimpleRateThrottle):
    """Reads per API key, and per signed-in person, at the `reads` rate (API_READ_THROTTLE_RATE).
    Ingestion is not a read: the events POST has no throttle."""

    scope = "reads"

    def get_rate(self) -> str | None:
        # Read per request, not at import: a changed setting (or a test's) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiKeyInfo):
            ident = f"key-{request.auth.id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
