"""Per-process snapshots of small, hot tables (registry, prices, API keys), invalidated on change.

The ingestion path must not query tags, prices or keys per event (or per request): each process
keeps a built snapshot and checks one shared version number in the cache per use. Saving a
watched model bumps the version at once and again on commit, so no process can keep a snapshot
built from a transaction that had not yet committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_all: list[VersionedSnapshot] = []


class VersionedSnapshot(Generic[T]):
    def __init__(self, key: str, build: Callable[[], T]):
        self.key = f"snapshot:{key}"
        self.build = build
        self._version: str | None = None
        self._value: T | None = None
        _all.append(self)

    def get(self) -> T:
        version = cache.get(self.key)
        if version is None:
            cache.add(self.key, uuid.uuid4().hex, None)
            version = cache.get(self.key)
        if self._value is None or version != self._version:
            self._value = self.build()
            self._version = version
        return self._value

    def invalidate(self) -> None:
        cache.set(self.key, uuid.uuid4().hex, None)
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
