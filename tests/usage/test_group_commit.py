"""Group commit (PostgreSQL): concurrent small ingests of one process share one commit, and each
request's outcome is the one it would have had alone."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.db.models import Sum

from apps.usage.keys import ApiKeyInfo
from apps.usage.models import UsageEvent
from apps.usage.services import events_ingest, storage
from apps.usage.services.group_commit import GroupCommitter
from tests.factories import ApiKeyFactory, EventPayloadFactory

# serialized_rollback, as every transactional test here: a plain flush afterwards re-creates the
# content types, which the next serialized test then finds already there.
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="group commit is PostgreSQL's"),
]


class HeldCommitter:
    """The process's committer, its first statement held until `release()`: what queues meanwhile
    is committed as one group, by one of the queued requests. `statements` records each
    statement's row count and whether it ran inside the group's transaction."""

    def __init__(self):
        self.gate = threading.Event()
        self.statements: list[tuple[int, bool]] = []
        self.threads: list[threading.Thread] = []
        self.committer = GroupCommitter(
            claim=self._claim, months_ensure=storage.rows_months_ensure, row_key=storage.row_key
        )

    def _claim(self, rows):
        self.gate.wait(timeout=10)
        self.statements.append((len(rows), connection.in_atomic_block))
        self.threads.append(threading.current_thread())
        return storage.rows_claim(rows)

    def queued(self) -> int:
        return len(self.committer._pending)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def held(monkeypatch, settings):
    settings.INGEST_GROUP_COMMIT = True
    held = HeldCommitter()
    monkeypatch.setattr(storage, "GROUP_COMMITTER", held.committer)
    yield held
    held.release()


@pytest.fixture
def key_info(api_key, price):
    return ApiKeyInfo.of(api_key)


def _ingest_in_thread(outcomes: dict, name: str, key: ApiKeyInfo, events: list[dict]) -> threading.Thread:
    def run():
        try:
            outcomes[name] = events_ingest(key=key, events=events)
        except Exception as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _group(held: HeldCommitter, outcomes: dict, requests: list[tuple[str, ApiKeyInfo, list[dict]]]) -> None:
    """The first request holds the committer; the others queue in the order given, then commit together."""
    threads = []
    for position, (name, key, events) in enumerate(requests):
        threads.append(_ingest_in_thread(outcomes, name, key, events))
        if position == 0:
            _wait_until(lambda: held.queued() == 0 and not held.gate.is_set() and threads[0].is_alive())
            time.sleep(0.05)  # the first request is at the held statement
        else:
            _wait_until(lambda position=position: held.queued() == position)
    held.release()
    for thread in threads:
        thread.join(timeout=20)


def test_concurrent_single_events_are_stored_once_in_one_statement(held, key_info):
    outcomes = {}
    _group(held, outcomes, [(f"r{n}", key_info, [EventPayloadFactory()]) for n in range(6)])
    assert held.statements == [(1, False), (5, False)]
    assert all((o.accepted, o.duplicates, o.rejected, o.conflicts) == (1, 0, [], []) for o in outcomes.values())
    assert UsageEvent.objects.count() == 6
    assert UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"] == Decimal("0.027000000")


def test_a_lone_request_commits_on_its_own_thread_with_no_hand_over(held, key_info):
    held.release()
    result = events_ingest(key=key_info, events=[EventPayloadFactory()])
    assert (result.accepted, held.statements, held.threads) == (1, [(1, False)], [threading.current_thread()])
    assert UsageEvent.objects.get().billed_cost == Decimal("0.004500000")


def test_small_batches_of_one_group_each_get_their_own_counts(held, key_info):
    outcomes = {}
    stored_before = EventPayloadFactory()
    events_ingest(key=key_info, events=[stored_before])
    held.statements.clear()
    two, three = [EventPayloadFactory() for _ in range(2)], [EventPayloadFactory() for _ in range(3)]
    _group(
        held,
        outcomes,
        [
            ("first", key_info, [EventPayloadFactory()]),
            ("two", key_info, two),
            ("resent", key_info, [stored_before, *three]),
        ],
    )
    assert held.statements[-1] == (6, False)
    assert (outcomes["two"].accepted, outcomes["two"].duplicates) == (2, 0)
    assert (outcomes["resent"].accepted, outcomes["resent"].duplicates) == (3, 1)
    assert UsageEvent.objects.count() == 7
    assert UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"] == Decimal("0.031500000")


def test_an_event_sent_twice_in_one_group_is_stored_once_then_a_duplicate_then_a_conflict(held, key_info):
    outcomes = {}
    event = EventPayloadFactory(event_id="req_01", output_tokens=100)
    _group(
        held,
        outcomes,
        [
            ("first", key_info, [EventPayloadFactory()]),
            ("original", key_info, [event]),
            ("resend", key_info, [event]),
            ("changed", key_info, [{**event, "output_tokens": 999}]),
        ],
    )
    # The repeated key sends each request's statement in turn, inside the group's one transaction.
    assert held.statements[1:] == [(1, True), (1, True), (1, True)]
    assert (outcomes["original"].accepted, outcomes["original"].duplicates) == (1, 0)
    assert (outcomes["resend"].accepted, outcomes["resend"].duplicates) == (0, 1)
    assert outcomes["changed"].conflicts == [{"index": 0, "event_id": "req_01", "fields": ["output_tokens"]}]
    stored = UsageEvent.objects.get(event_id="req_01")
    assert (stored.output_tokens, stored.billed_cost) == (100, Decimal("0.004500000"))
    assert UsageEvent.objects.count() == 2


def test_a_request_the_database_refuses_fails_alone_and_the_rest_of_its_group_is_stored(held, key_info, team):
    outcomes = {}
    deleted_key = ApiKeyFactory(team=team, name="deleted")
    deleted = ApiKeyInfo.of(deleted_key)  # a process's snapshot still holds a key deleted meanwhile
    deleted_key.delete()
    _group(
        held,
        outcomes,
        [
            ("first", key_info, [EventPayloadFactory()]),
            ("before", key_info, [EventPayloadFactory()]),
            ("refused", deleted, [EventPayloadFactory()]),
            ("after", key_info, [EventPayloadFactory()]),
        ],
    )
    assert isinstance(outcomes["refused"], IntegrityError)
    assert [outcomes[name].accepted for name in ("first", "before", "after")] == [1, 1, 1]
    assert UsageEvent.objects.count() == 3
    assert UsageEvent.objects.aggregate(total=Sum("billed_cost"))["total"] == Decimal("0.013500000")


def test_with_group_commit_off_a_request_commits_on_its_own_connection(held, key_info, settings):
    settings.INGEST_GROUP_COMMIT = False
    result = events_ingest(key=key_info, events=[EventPayloadFactory()])
    assert result.accepted == 1
    assert held.statements == []
    assert UsageEvent.objects.get().billed_cost == Decimal("0.004500000")
