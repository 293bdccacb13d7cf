"""Group commit: the small ingests that arrive together in one web process share one transaction and
one WAL flush, and each is answered only once that commit is done (an event is durable before its 202).

A process serving requests on threads (gunicorn's gthread workers) queues each store of a few rows
(apps.usage.services.storage decides which stores). The first request to find no commit in flight
commits on its own thread and connection whatever queued, itself included, up to GROUP_MAX_ROWS
rows, without waiting for more; the requests queuing meanwhile wait, and once that commit is done
one of them commits the next group for all. While one group commits, the next gathers, so a group
is as large as the load makes it and a lone request waits for nobody. A process serving one request
at a time commits groups of one, on the request's own thread: no hand-over to another thread, which
cost a sync worker ~50 µs of CPU a request (docs/benchmarks.md, "Single events against pgbench").
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from datetime import date

from django.db import connection, transaction

logger = logging.getLogger(__name__)

# Rows one group's statement may hold: the statement's parameters grow with it (30-odd a row).
GROUP_MAX_ROWS = 200

Claim = Callable[[list[tuple]], list[tuple[int, str, date]]]


class _Member:
    """One request's rows, and what became of them once its group committed."""

    __slots__ = ("done", "error", "rows", "stored")

    def __init__(self, rows: list[tuple]):
        self.rows = rows
        self.done = False
        self.stored: list[tuple[str, date]] = []
        self.error: BaseException | None = None


class GroupCommitter:
    """One per process. `claim` inserts rows in one statement and returns (api_key_id, event_id,
    day) of those inserted; `months_ensure` creates the rows' partitions; `row_key` is a row's
    idempotency key (api_key_id, event_id)."""

    def __init__(self, *, claim: Claim, months_ensure: Callable[[list[tuple]], None], row_key: Callable):
        self._claim = claim
        self._months_ensure = months_ensure
        self._row_key = row_key
        self._pid: int | None = None
        self._state()

    def _state(self) -> None:
        # Per process: a fork may have copied the lock held, or members of the parent's requests.
        self._changed = threading.Condition(threading.Lock())
        self._pending: deque[_Member] = deque()
        self._committing = False
        self._pid = os.getpid()

    def store(self, rows: list[tuple]) -> list[tuple[str, date]]:
        """Store the rows in the next group; (event_id, day) of each inserted, once committed."""
        if self._pid != os.getpid():
            self._state()
        member = _Member(rows)
        changed = self._changed
        with changed:
            self._pending.append(member)
        while True:
            with changed:  # wait for the commit in flight; then this thread commits what queued
                while self._committing and not member.done:
                    changed.wait()
                if member.done:
                    break
                self._committing = True
                group = self._next_group()
            finished = False
            try:
                self._store(group)
                finished = True
            finally:
                with changed:
                    for other in group:
                        if not finished and other is not member:
                            # This thread was stopped mid-commit (a worker's timeout): the others'
                            # rows are not known to be stored, so their requests fail, not wait.
                            other.error = RuntimeError("The commit of this request's group was interrupted.")
                        other.done = True
                    self._committing = False
                    changed.notify_all()
        if member.error is not None:
            raise member.error
        return member.stored

    def _next_group(self) -> list[_Member]:
        """What queued, oldest first, up to GROUP_MAX_ROWS rows (at least one member)."""
        pending = self._pending
        group = [pending.popleft()]
        size = len(group[0].rows)
        while pending and size < GROUP_MAX_ROWS:
            member = pending.popleft()
            group.append(member)
            size += len(member.rows)
        return group

    def _store(self, group: list[_Member]) -> None:
        try:
            connection.close_if_unusable_or_obsolete()
            try:
                self._together(group)
            except Exception:
                # One member's data, or a deadlock with another process, failed the shared
                # transaction: each member again on its own, so only a failing one fails.
                logger.warning("group commit of %d stores failed; storing each alone", len(group), exc_info=True)
                connection.close_if_unusable_or_obsolete()  # a lost connection: a new one
                self._alone(group)
        except Exception as exc:  # no connection to be had: nothing was stored
            for member in group:
                member.error = exc

    def _together(self, group: list[_Member]) -> None:
        rows = [row for member in group for row in member.rows]
        self._months_ensure(rows)
        keys = [self._row_key(row) for row in rows]
        if len(set(keys)) == len(keys):
            # Distinct keys: one statement for the group (atomic on its own, one commit).
            inserted = {(key_id, event_id): day for key_id, event_id, day in self._claim(rows)}
            for member in group:
                own = [self._row_key(row) for row in member.rows]
                member.stored = [(key[1], inserted[key]) for key in own if key in inserted]
            return
        # An event sent by two requests of the group: each request's statement in turn, in one
        # transaction, so the later one finds the earlier one's key claimed as it would after a commit.
        with transaction.atomic():
            stored = [self._claim(member.rows) for member in group]
        for member, inserted in zip(group, stored, strict=True):
            member.stored = [(event_id, day) for _, event_id, day in inserted]

    def _alone(self, group: list[_Member]) -> None:
        for member in group:
            try:
                self._months_ensure(member.rows)
                member.stored = [(event_id, day) for _, event_id, day in self._claim(member.rows)]
            except Exception as exc:
                member.error = exc
