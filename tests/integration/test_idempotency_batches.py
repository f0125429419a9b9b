"""Batched claims and completes of the idempotency store: one statement and one commit per
batch, and the outcome of each claim as if the claims had run one after another.

The threaded tests hold the first batch until the other callers have queued behind it
(``_queued_behind_a_batch``), so they are answered from one batch, not one by one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from api.http.store import CLAIMS, COMPLETIONS, IdempotencyStore, StoredRequest, StoredResponse
from core.db import Database
from core.group_commit import GroupCommit
from core.users.model import User
from tests.concurrency import race

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOCK = timedelta(seconds=60)
USERS = 2
REQUESTS = [StoredRequest("POST", f"/v1/x/{n}", str(n) * 64, {"n": str(n)}) for n in range(2)]

# A claim: (user index, key index, request index); a history: claims already made, then a batch.
claims = st.tuples(st.integers(0, USERS - 1), st.integers(0, 3), st.integers(0, 1))
histories = st.tuples(st.lists(claims, max_size=4), st.lists(claims, min_size=1, max_size=8))


def _queued_behind_a_batch(
    combiner: GroupCommit[Any, Any, Any],
    key: str,
    blocker: Callable[[], object],
    calls: Sequence[Callable[[], Any]],
) -> tuple[list[Any], list[int]]:
    """Run ``blocker`` in a batch of its own that waits (at most 5 s) until all of ``calls``,
    made from threads at once, queue behind it; their outcomes and the sizes of the batches
    that ran them (a failed batch, then each of its items alone)."""
    started, sizes = threading.Event(), []
    original = combiner.run_batch

    def waiting(batch_key: Any, items: Sequence[Any]) -> Sequence[Any]:
        if not started.is_set():
            started.set()
            deadline = time.monotonic() + 5
            while combiner.queued(key) < len(calls) and time.monotonic() < deadline:
                time.sleep(0.002)
        else:
            sizes.append(len(items))
        return original(batch_key, items)

    combiner.run_batch = waiting
    leader = threading.Thread(target=blocker)
    leader.start()
    started.wait(5)
    outcomes = race(len(calls), lambda i: calls[i]())
    leader.join()
    return outcomes, sizes


def _claim(store: IdempotencyStore, user_id: int, key: str) -> Callable[[], bool]:
    return lambda: store.claim(user_id, key, REQUESTS[0], now=T0, lock_until=T0 + LOCK)


def _claimed_in_one_batch(
    store: IdempotencyStore, user: User, calls: Sequence[Callable[[], bool]]
) -> tuple[list[bool], list[int]]:
    """``calls`` queued behind a claim of the key "blocker", so that they form one batch."""
    return _queued_behind_a_batch(store.claims, CLAIMS, _claim(store, user.id, "blocker"), calls)


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements the database runs (``COMMIT`` for each commit) while the test runs."""
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(args[2].split()[0].upper())

    def on_commit(_: Any) -> None:
        seen.append("COMMIT")

    event.listen(database.engine, "before_cursor_execute", on_execute)
    event.listen(database.engine, "commit", on_commit)
    yield seen
    event.remove(database.engine, "before_cursor_execute", on_execute)
    event.remove(database.engine, "commit", on_commit)


def test_batched_claims_equal_claims_one_after_another(
    database: Database, make_user: Callable[..., User]
) -> None:
    one_by_one = IdempotencyStore(database.sessions, group_commit=False)
    batched = IdempotencyStore(database.sessions)
    alone = [make_user().id for _ in range(USERS)]
    together = [make_user().id for _ in range(USERS)]
    examples = count()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(histories)
    def check(history: tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]) -> None:
        made, batch = history
        example = next(examples)

        def claim(users: list[int], user: int, key: int, request: int) -> Any:
            return (users[user], f"{example}:{key}", REQUESTS[request], T0, T0 + LOCK)

        for user, key, request in made:
            for store, users in ((one_by_one, alone), (batched, together)):
                store.claim(*claim(users, user, key, request)[:3], now=T0, lock_until=T0 + LOCK)
        expected = [
            one_by_one.claim(*c[:3], now=T0, lock_until=T0 + LOCK)
            for c in (claim(alone, *item) for item in batch)
        ]
        assert batched.claim_each([claim(together, *item) for item in batch]) == expected
        for user in range(USERS):
            for key in range(4):
                first = one_by_one.get(alone[user], f"{example}:{key}")
                second = batched.get(together[user], f"{example}:{key}")
                assert (first and first.request) == (second and second.request)

    check()


def test_a_batch_of_claims_is_one_insert_and_one_commit(
    database: Database, make_user: Callable[..., User], statements: list[str]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    store.claim(user.id, "taken", REQUESTS[0], now=T0, lock_until=T0 + LOCK)
    statements.clear()
    batch = [(user.id, key, REQUESTS[0], T0, T0 + LOCK) for key in ("a", "b", "taken", "a", "c")]
    assert store.claim_each(batch) == [True, True, False, False, True]
    assert statements.count("INSERT") == 1 and statements.count("COMMIT") == 1
    assert [s for s in statements if s not in ("BEGIN", "INSERT", "COMMIT")] == []


def test_a_batch_of_completes_stores_each_response_in_one_commit(
    database: Database, make_user: Callable[..., User], statements: list[str]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    keys = ["a", "b", "c"]
    store.claim_each([(user.id, key, REQUESTS[0], T0, T0 + LOCK) for key in keys])
    statements.clear()
    store.complete_each([(user.id, k, StoredResponse(201, [["x", k]], k.encode())) for k in keys])
    assert statements.count("COMMIT") == 1
    for key in keys:
        record = store.get(user.id, key)
        assert record is not None and record.status == "completed"
        assert record.response == StoredResponse(201, [["x", key]], key.encode())


def test_a_claim_for_a_deleted_user_fails_alone(
    database: Database, make_user: Callable[..., User]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    gone = user.id + 10_000
    assert not _claim(store, gone, "k")()
    with pytest.raises(IntegrityError):  # the whole batch fails; the combiner retries each alone
        store.claim_each([(gone, "k", REQUESTS[0], T0, T0 + LOCK)] * 2)

    calls = [_claim(store, gone, "k"), _claim(store, user.id, "k")]
    outcomes, sizes = _queued_behind_a_batch(
        store.claims, CLAIMS, _claim(store, user.id, "b"), calls
    )
    assert outcomes == [False, True]
    assert sizes == [2, 1, 1]  # the failed batch, then each of its claims alone


def test_concurrent_claims_of_distinct_keys_all_win_in_one_batch(
    database: Database, make_user: Callable[..., User]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    calls = [_claim(store, user.id, f"k{i}") for i in range(8)]
    outcomes, sizes = _queued_behind_a_batch(
        store.claims, CLAIMS, _claim(store, user.id, "b"), calls
    )
    assert outcomes == [True] * 8
    assert sizes == [8]

    def complete(key: str) -> Callable[[], None]:
        return lambda: store.complete(user.id, key, StoredResponse(200, [], key.encode()))

    completes = [complete(f"k{i}") for i in range(8)]
    _, sizes = _queued_behind_a_batch(store.completions, COMPLETIONS, complete("b"), completes)
    assert sizes == [8]
    for i in range(8):
        record = store.get(user.id, f"k{i}")
        assert record is not None and record.response == StoredResponse(200, [], f"k{i}".encode())


def test_concurrent_claims_of_one_key_have_one_winner(
    database: Database, make_user: Callable[..., User]
) -> None:
    store, user = IdempotencyStore(database.sessions), make_user()
    calls = [_claim(store, user.id, "one") for _ in range(6)]
    outcomes, sizes = _queued_behind_a_batch(
        store.claims, CLAIMS, _claim(store, user.id, "b"), calls
    )
    assert sorted(outcomes) == [False] * 5 + [True]
    assert sizes == [6]


def test_without_group_commit_every_claim_is_its_own_transaction(
    database: Database, make_user: Callable[..., User], statements: list[str]
) -> None:
    store, user = IdempotencyStore(database.sessions, group_commit=False), make_user()
    statements.clear()
    outcomes = race(
        4, lambda i: store.claim(user.id, f"k{i % 2}", REQUESTS[0], now=T0, lock_until=T0 + LOCK)
    )
    assert sorted(outcomes) == [False, False, True, True]
    assert statements.count("INSERT") == statements.count("COMMIT") == 4
