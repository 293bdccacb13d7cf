"""Reads from a PostgreSQL streaming replica (DATABASE_REPLICA_URL): which requests may, the router
that sends them there, and how far behind the replica is.

Pages, the read APIs and the exports only read derived tables, so a replica a few seconds behind
serves them as well as the primary. Everything else stays on the primary: ingestion, the gateway,
rollups, the admin, and any request that reads what it has just written (the events API reads back
events a client has just sent). Without a replica configured, nothing here changes anything.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connections
from django.urls import Resolver404, resolve

REPLICA = "replica"
# GET and HEAD of these views read from the replica (URL names, with their namespaces).
REPLICA_VIEWS = frozenset(
    {
        "showback:home",
        "showback:overview",
        "showback:overview-csv",
        "showback:team",
        "showback:team-statement",
        "showback:team-alerts",
        "showback:focus-csv",
        "insights:overview",
        "costs",
        "allocations",
        "reconciliation",
        "anomalies",
        "alerts",
        "opportunities",
    }
)

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Reads go to the replica while a replica-read request runs; every write, and every read
    elsewhere, to the primary (an object read from the replica is saved to the primary too)."""

    def db_for_read(self, model, **hints):
        return REPLICA if _replica_reads.get() else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"  # the replica is a copy of the primary's files


class ReplicaReadMiddleware:
    """Marks a GET or HEAD of a REPLICA_VIEWS view as a replica read while the request is handled
    (set around the rest of the chain, so the view and the templates see it under ASGI too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (replica_configured() and request.method in ("GET", "HEAD") and _is_read_view(request.path_info)):
            return self.get_response(request)
        token = _replica_reads.set(True)
        try:
            return self.get_response(request)
        finally:
            _replica_reads.reset(token)


def _is_read_view(path: str) -> bool:
    try:
        return resolve(path).view_name in REPLICA_VIEWS
    except Resolver404:
        return False


def reading_from_replica() -> bool:
    return replica_configured() and _replica_reads.get()


_LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
_LAG_CACHE_SECONDS = 5
_lag_cache: tuple[float, float] | None = None  # (when read, seconds behind)


def replica_lag_seconds() -> float:
    """How far the replica's replay is behind what it has received from the primary, in seconds
    (0 when it has replayed everything). Read at most every few seconds per process."""
    global _lag_cache
    now = time.monotonic()
    if _lag_cache is not None and now - _lag_cache[0] < _LAG_CACHE_SECONDS:
        return _lag_cache[1]
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_LAG_SQL)
            lag = float(cursor.fetchone()[0])
    except DatabaseError:
        lag = 0.0  # a replica that cannot answer fails the page's own queries, which say so
    _lag_cache = (now, lag)
    return lag


def lag_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''} {minutes % 60} min"


def replica_lag(request) -> dict:
    """Context processor: `replica_behind` when this page was read from a replica that is more
    than REPLICA_LAG_WARNING_SECONDS behind."""
    if not reading_from_replica():
        return {}
    seconds = replica_lag_seconds()
    if seconds <= settings.REPLICA_LAG_WARNING_SECONDS:
        return {}
    return {"replica_behind": lag_text(seconds) if seconds >= 60 else f"{int(seconds)} seconds"}
