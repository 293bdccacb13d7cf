"""Waiting, in a test, until another session is blocked on a PostgreSQL advisory lock."""

from __future__ import annotations

import time

from django.db import connection


def advisory_lock_waiter_seen(*, timeout: float = 10.0) -> None:
    """Return once a session waits for an advisory lock (pg_locks: not granted); fail after `timeout`.

    A test that holds a lock and starts a thread that needs it synchronises on this, rather than on
    a sleep that a loaded machine may outlast."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no session waited for an advisory lock within {timeout} s")
            time.sleep(0.01)
