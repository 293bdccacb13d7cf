"""Finding a call's API key with no database work per call, even under a flood of bad keys.

A key missing from the per-process snapshot (made a moment ago, or unknown) is looked up once,
on a thread of its own so a flood cannot starve the threads that record calls; concurrent calls
with the same key share that lookup, and a key found unknown is remembered for
UNKNOWN_KEY_SECONDS (forgotten at once when the key snapshot changes, so a new key works).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from apps.usage.keys import ApiKeyInfo, api_key_lookup
from apps.usage.models import api_key_hash

UNKNOWN_KEY_SECONDS = 5.0
# Distinct unknown keys remembered at most; past that the memory starts afresh.
UNKNOWN_KEYS_MAX = 10_000


def _key_lookup(raw_key: str) -> ApiKeyInfo | None:
    close_old_connections()
    return api_key_lookup(raw_key)


class KeyFinder:
    def __init__(self) -> None:
        self._unknown: dict[str, float] = {}  # key hash → remembered until (monotonic clock)
        self._pending: dict[str, asyncio.Future] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-key-lookup")

    def forget_unknown(self) -> None:
        self._unknown.clear()

    async def find(self, *, raw_key: str, snapshot: dict[str, ApiKeyInfo]) -> ApiKeyInfo | None:
        hashed = api_key_hash(raw_key)
        key = snapshot.get(hashed)
        if key is not None:
            return key
        if self._unknown.get(hashed, 0.0) > time.monotonic():
            return None
        lookup = self._pending.get(hashed)
        if lookup is None:
            lookup = asyncio.get_running_loop().run_in_executor(self._executor, _key_lookup, raw_key)
            self._pending[hashed] = lookup
            lookup.add_done_callback(lambda done: self._settled(hashed, done))
        # Shielded: a caller that leaves does not cancel the lookup the others wait for.
        return await asyncio.shield(lookup)

    def _settled(self, hashed: str, lookup: asyncio.Future) -> None:
        self._pending.pop(hashed, None)
        if lookup.cancelled() or lookup.exception() is not None or lookup.result() is not None:
            return
        if len(self._unknown) >= UNKNOWN_KEYS_MAX:
            self._unknown.clear()
        self._unknown[hashed] = time.monotonic() + UNKNOWN_KEY_SECONDS

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
