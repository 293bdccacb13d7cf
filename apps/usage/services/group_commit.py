"""Group commit: the small ingests that arrive together in one web process share one transaction and
one WAL flush, and each is answered only once that commit is done (an event is durable before its 202).

A process serving requests on threads (gunicorn's gthread workers) hands each store of a few rows
to its one committer thread (apps.usage.services.storage decides which stores). The committer takes
whatever queued while it last committed, up to GROUP_MAX_ROWS rows, without waiting for more: while
one group commits, the next gathers, so a group is as large as the load makes it and a lone request
waits for nobody. A process serving one request at a time commits groups of one.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
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

    def __init__(self, rows: list[tuple] | None):
        self.rows = rows  # None asks the committer to close its database connection
        self.done = threading.Event()
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
        self._lock = threading.Lock()
        self._pending: queue.SimpleQueue[_Member] = queue.SimpleQueue()
        self._pid: int | None = None

    def store(self, rows: list[tuple]) -> list[tuple[str, date]]:
        """Store the rows in the next group; (event_id, day) of each inserted, once committed."""
        member = self._submit(rows)
        if member.error is not None:
            raise member.error
        return member.stored

    def connection_close(self) -> None:
        """Close the committer's database connection (tests drop their database afterwards)."""
        if self._pid == os.getpid():
            self._submit(None)

    def _submit(self, rows: list[tuple] | None) -> _Member:
        member = _Member(rows)
        self._pending_queue().put(member)
        member.done.wait()
        return member

    def _pending_queue(self) -> queue.SimpleQueue[_Member]:
        # Started on first use in each process: a thread started before a fork is not in the child.
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._pending = queue.SimpleQueue()
                    threading.Thread(
                        target=self._run, args=(self._pending,), name="ingest-group-commit", daemon=True
                    ).start()
                    self._pid = os.getpid()
        return self._pending

    def _run(self, pending: queue.SimpleQueue[_Member]) -> None:
        while True:
            group = [pending.get()]
            size = len(group[0].rows or ())
            while size < GROUP_MAX_ROWS:
                try:
                    member = pending.get_nowait()
                except queue.Empty:
                    break
                group.append(member)
                size += len(member.rows or ())
            self._commit(group)

    def _commit(self, group: list[_Member]) -> None:
        storing = [m for m in group if m.rows is not None]
        try:
            if storing:
                self._store(storing)
            if len(storing) < len(group):
                connection.close()
        except Exception:  # the thread serves every later group: it must not die of one
            logger.exception("group commit: closing the connection failed")
        finally:
            for member in group:
                member.done.set()

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
