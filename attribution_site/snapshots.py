"""Per-process snapshots of small, hot tables (registry, prices, API keys), invalidated on change.

The ingestion path must not query tags, prices or keys per event (or per request): each process
keeps a built snapshot and checks a shared version number in the cache. Inside a request the
versions of every snapshot are read once, in one round trip, on first use; elsewhere (tasks,
commands) on every use. Saving a watched model bumps the version at once and again on commit,
so no process can keep a snapshot built from a transaction that had not yet committed.

A change that sends no signal (a bulk `update()`, plain SQL, another service writing the table)
bumps no version: a snapshot given a `max_age` is rebuilt at least that often all the same, so
such a change reaches every process within that many seconds.

The cache is an optimisation: while it is unreachable (a cache error reads as a miss, and
attribution_site.redis_outage leaves a failed Redis alone for a moment) no change made elsewhere
can be seen, so a snapshot is rebuilt from the database whenever it is older than
OUTAGE_MAX_AGE. When the cache answers again, every version is bumped once: a change saved
during the outage bumped none, and the process that saved it may be gone.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Generic, TypeVar

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from attribution_site.redis_outage import cache_reachable

T = TypeVar("T")

_all: list[VersionedSnapshot] = []
# The versions read for the request being handled (None outside a request).
_request_versions: ContextVar[dict[str, int | str] | None] = ContextVar("snapshot_versions", default=None)


def _request_begins(**kwargs) -> None:
    _request_versions.set({})


def _request_ends(**kwargs) -> None:
    _request_versions.set(None)


request_started.connect(_request_begins, dispatch_uid="snapshots:request_started")
request_finished.connect(_request_ends, dispatch_uid="snapshots:request_finished")


# Seconds a snapshot is kept while the shared cache is unreachable.
OUTAGE_MAX_AGE = 1.0
# Whether this process has seen the cache fail since it last answered (read by _version).
_outage_seen = False


def _outage_noted() -> None:
    global _outage_seen
    _outage_seen = True


def _outage_ended() -> None:
    """The cache answers again: make every process rebuild what it built before or during the outage."""
    global _outage_seen
    _outage_seen = False
    invalidate_all()
    if not cache_reachable():
        _outage_seen = True


def _version(key: str) -> int | str | None:
    """The shared version of a snapshot, or None when the cache is unreachable."""
    if not cache_reachable():
        _outage_noted()
        return None
    if _outage_seen:
        _outage_ended()
    versions = _request_versions.get()
    if versions is None:
        return cache.get(key)
    if not versions:
        versions.update(cache.get_many([snapshot.key for snapshot in _all]))
        versions["read"] = "yes"  # an empty cache answers nothing: read it once all the same
    return versions.get(key)


def _new_version() -> int:
    # A random integer rather than a string: django-redis stores an int as its digits and reads it
    # back with int(), where a string is pickled, and every request reads the versions.
    return secrets.randbits(62)


def _clock() -> float:
    return time.monotonic()


class VersionedSnapshot(Generic[T]):
    def __init__(self, key: str, build: Callable[[], T], *, max_age: float | None = None):
        self.key = f"snapshot:{key}"
        self.build = build
        self.max_age = max_age
        self._version: int | str | None = None  # an int; a string from before they were ints
        self._value: T | None = None
        self._built_at = 0.0
        _all.append(self)

    def get(self) -> T:
        version = _version(self.key)
        if version is None and cache_reachable():
            cache.add(self.key, _new_version(), None)
            version = cache.get(self.key)
        now = _clock()
        if version is None:  # the cache failed: a miss by settings.CACHES' IGNORE_EXCEPTIONS
            _outage_noted()
            if self._value is None or now - self._built_at >= OUTAGE_MAX_AGE:
                self._value, self._built_at = self.build(), now
            self._version = None  # never equal to a shared version: rebuilt once the cache answers
            return self._value
        expired = self.max_age is not None and now - self._built_at >= self.max_age
        if self._value is None or version != self._version or expired:
            self._value = self.build()
            self._version, self._built_at = version, now
        return self._value

    def invalidate(self) -> None:
        version = _new_version()
        if cache_reachable():
            cache.set(self.key, version, None)
        if not cache_reachable():
            _outage_noted()  # the bump is made again when the cache answers (_outage_ended)
        versions = _request_versions.get()
        if versions:
            versions[self.key] = version
        self._value = None

    def invalidate_on_change(self, *models) -> None:
        """Invalidate whenever a row of one of `models` is saved or deleted."""

        def receiver(**kwargs):
            self.invalidate()
            transaction.on_commit(self.invalidate)

        for model in models:
            post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{self.key}:{model.__name__}:save")
            post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{self.key}:{model.__name__}:del")


def invalidate_all() -> None:
    for snapshot in _all:
        snapshot.invalidate()
