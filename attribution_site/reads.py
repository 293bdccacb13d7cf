"""Bounds on API reads: on PostgreSQL a statement time limit and a cap on reports running at once;
a per-key, per-person throttle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction
from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from apps.usage.keys import ApiKeyInfo

from .exceptions import ApplicationError

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout
# Namespace of the PostgreSQL advisory locks whose keys 0..API_READ_CONCURRENCY-1 are the report slots.
_SLOT_NAMESPACE = 0x52454144  # "READ"
RETRY_AFTER_SECONDS = 2


class ReadTimedOut(ApplicationError):
    status = 503


@contextmanager
def read_time_limited() -> Iterator[None]:
    """Runs the reads inside in one transaction whose statements PostgreSQL cancels after
    API_READ_STATEMENT_TIMEOUT_MS, so a heavy report cannot hold a web worker and a database
    backend for minutes while ingestion waits for both. At most API_READ_CONCURRENCY such reads run
    at once across all processes (one free slot, an advisory lock, each); with none free the caller
    is told to retry (429), so reports never take every web worker from ingestion. SQLite has no
    such limits."""
    if connection.vendor != "postgresql":
        yield
        return
    timeout_ms = settings.API_READ_STATEMENT_TIMEOUT_MS
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                _slot_take(cursor)
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout_ms}ms"])
            yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != QUERY_CANCELED:
            raise
        raise ReadTimedOut(
            f"The report took longer than {timeout_ms / 1000:g} s and was stopped: ask for fewer days, "
            "group by fewer dimensions, or filter one of them."
        ) from None


def _slot_take(cursor) -> None:
    """Holds a free report slot until the transaction ends, or refuses the read."""
    for slot in range(settings.API_READ_CONCURRENCY):
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_SLOT_NAMESPACE, slot])
        if cursor.fetchone()[0]:
            return
    raise Throttled(
        wait=RETRY_AFTER_SECONDS,
        detail=f"{settings.API_READ_CONCURRENCY} reports are running already; try again in a few seconds.",
    )


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
