"""The group-commit combiner with real threads and coroutines: every caller gets exactly its own
outcome."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.group_commit import BatchAbandoned, GroupCommit
from tests.concurrency import race


class Refused(Exception):
    """A per-item refusal: returned as that item's outcome."""


class Poisoned(Exception):
    """Raised by the whole batch when it holds a poisoned item (a database error, say)."""


class Recorder:
    """A batch function that doubles items, refuses some, and fails whole batches that hold a
    poisoned item; it records every batch it ran and whether it committed."""

    def __init__(self, refused: set[int], poisoned: set[int]) -> None:
        self.refused, self.poisoned = refused, poisoned
        self.lock = threading.Lock()
        self.committed: list[tuple[int, list[int]]] = []
        self.failed: list[tuple[int, list[int]]] = []

    def __call__(self, key: int, items: Sequence[int]) -> list[int | BaseException]:
        time.sleep(0.001)  # long enough for others to queue behind the batch
        with self.lock:
            if any(i in self.poisoned for i in items):
                self.failed.append((key, list(items)))
                raise Poisoned(f"batch {list(items)}")
            self.committed.append((key, list(items)))
        return [Refused(str(i)) if i in self.refused else i * 2 for i in items]


@settings(max_examples=25, deadline=None)
@given(
    count=st.integers(1, 24),
    keys=st.integers(1, 3),
    max_batch=st.integers(1, 8),
    refused=st.sets(st.integers(0, 23), max_size=6),
    poisoned=st.sets(st.integers(0, 23), max_size=3),
)
def test_every_item_gets_its_own_outcome_once(
    count: int, keys: int, max_batch: int, refused: set[int], poisoned: set[int]
) -> None:
    recorder = Recorder(refused, poisoned)
    combiner: GroupCommit[int, int, int] = GroupCommit(recorder, max_batch=max_batch)

    outcomes = race(count, lambda i: combiner.submit(i % keys, i))

    for i, outcome in enumerate(outcomes):
        if i in poisoned:
            assert isinstance(outcome, Poisoned) and str(outcome) == f"batch {[i]}"
        elif i in refused:
            assert isinstance(outcome, Refused) and str(outcome) == str(i)
        else:
            assert outcome == i * 2
    committed = [i for _, items in recorder.committed for i in items]
    assert sorted(committed) == sorted(i for i in range(count) if i not in poisoned)
    every_batch = recorder.committed + recorder.failed
    assert all(len(items) <= max_batch for _, items in every_batch)
    assert all(i % keys == key for key, items in every_batch for i in items)
    assert combiner.queued(0) == 0


def test_callers_arriving_during_a_batch_join_the_next_one() -> None:
    batches: list[list[int]] = []
    running = threading.Event()
    combiner: GroupCommit[str, int, int]

    def run(_: str, items: Sequence[int]) -> list[int | BaseException]:
        if not batches:  # the first leader waits until the others have queued behind it
            running.set()
            deadline = time.monotonic() + 5
            while combiner.queued("k") < 7 and time.monotonic() < deadline:
                time.sleep(0.001)
        batches.append(list(items))
        return list(items)

    combiner = GroupCommit(run, max_batch=64)
    first = threading.Thread(target=combiner.submit, args=("k", 0))
    first.start()
    running.wait(5)
    results = race(7, lambda i: combiner.submit("k", i + 1))
    first.join()
    assert results == list(range(1, 8))
    assert batches[0] == [0] and sorted(batches[1]) == list(range(1, 8))


def test_disabled_runs_each_item_alone_in_its_caller() -> None:
    seen: list[tuple[str, list[int]]] = []

    def run(key: str, items: Sequence[int]) -> list[int | BaseException]:
        seen.append((threading.current_thread().name, list(items)))
        return [Refused("no") if i < 0 else i for i in items]

    combiner: GroupCommit[str, int, int] = GroupCommit(run, enabled=False)
    assert combiner.submit("k", 3) == 3
    with pytest.raises(Refused):
        combiner.submit("k", -1)
    assert seen == [(threading.current_thread().name, [3]), (threading.current_thread().name, [-1])]


class Interrupted(BaseException):
    """Not an ``Exception``: it escapes the batch, as a KeyboardInterrupt would."""


def test_an_interrupted_leader_leaves_no_caller_waiting() -> None:
    calls: list[list[int]] = []
    combiner: GroupCommit[str, int, int]

    def run(_: str, items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        if len(calls) == 1:
            deadline = time.monotonic() + 5
            while combiner.queued("k") < 3 and time.monotonic() < deadline:
                time.sleep(0.001)
            raise Interrupted
        return list(items)

    combiner = GroupCommit(run)
    outcomes: list[object] = [None] * 4

    def call(i: int) -> None:
        try:
            outcomes[i] = combiner.submit("k", i)
        except BaseException as raised:  # what each caller got is the point
            outcomes[i] = raised

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not calls:
        time.sleep(0.001)
    others = [threading.Thread(target=call, args=(i,)) for i in (1, 2, 3)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(10)
    assert isinstance(outcomes[0], Interrupted)
    assert outcomes[1:] == [1, 2, 3] and combiner.queued("k") == 0


# --- submit_async: awaiting callers ---------------------------------------------------------


async def _outcome(call: Awaitable[int]) -> object:
    try:
        return await call
    except Exception as raised:  # what each caller got is the point
        return raised


@settings(max_examples=25, deadline=None)
@given(
    count=st.integers(1, 24),
    keys=st.integers(1, 3),
    max_batch=st.integers(1, 8),
    refused=st.sets(st.integers(0, 23), max_size=6),
    poisoned=st.sets(st.integers(0, 23), max_size=3),
    threads=st.sets(st.integers(0, 23), max_size=6),
)
def test_awaiting_callers_get_their_own_outcome_once(
    count: int,
    keys: int,
    max_batch: int,
    refused: set[int],
    poisoned: set[int],
    threads: set[int],
) -> None:
    """Coroutines (and threads of the same lanes, ``threads``) each get their own result or
    refusal; a failed batch is retried item by item, so only the poisoned item fails."""
    recorder = Recorder(refused, poisoned)
    combiner: GroupCommit[int, int, int] = GroupCommit(recorder, max_batch=max_batch)

    async def everyone() -> list[object]:
        calls = [
            asyncio.to_thread(combiner.submit, i % keys, i)
            if i in threads
            else combiner.submit_async(i % keys, i)
            for i in range(count)
        ]
        return list(await asyncio.gather(*(_outcome(c) for c in calls)))

    outcomes = asyncio.run(everyone())

    for i, outcome in enumerate(outcomes):
        if i in poisoned:
            assert isinstance(outcome, Poisoned) and str(outcome) == f"batch {[i]}"
        elif i in refused:
            assert isinstance(outcome, Refused) and str(outcome) == str(i)
        else:
            assert outcome == i * 2
    committed = [i for _, items in recorder.committed for i in items]
    assert sorted(committed) == sorted(i for i in range(count) if i not in poisoned)
    every_batch = recorder.committed + recorder.failed
    assert all(len(items) <= max_batch for _, items in every_batch)
    assert all(i % keys == key for key, items in every_batch for i in items)
    assert all(combiner.queued(k) == 0 for k in range(keys))


def test_awaiting_callers_join_one_batch_run_by_a_worker_of_the_pool() -> None:
    batches: list[tuple[str, list[int]]] = []
    release = threading.Event()

    def run(_: str, items: Sequence[int]) -> list[int | BaseException]:
        batches.append((threading.current_thread().name, list(items)))
        if len(batches) == 1:
            release.wait(5)
        return list(items)

    combiner: GroupCommit[str, int, int] = GroupCommit(run)

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(combiner.submit_async("k", 0))
        while not batches:
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(combiner.submit_async("k", i)) for i in range(1, 8)]
        await asyncio.sleep(0.01)
        assert combiner.queued("k") == 7  # nobody holds a thread while waiting
        release.set()
        return list(await asyncio.gather(first, *rest))

    assert asyncio.run(scenario()) == list(range(8))
    assert [items for _, items in batches] == [[0], list(range(1, 8))]
    assert all(name.startswith("group-commit") for name, _ in batches)


def test_a_cancelled_waiter_leaves_its_item_to_run_once() -> None:
    """A request whose client went away: its item is neither lost nor run twice, and the
    callers around it get their outcomes."""
    ran: list[int] = []
    release = threading.Event()

    def run(_: str, items: Sequence[int]) -> list[int | BaseException]:
        ran.extend(items)
        if ran == [0]:
            release.wait(5)
        return [i * 10 for i in items]

    combiner: GroupCommit[str, int, int] = GroupCommit(run)

    async def scenario() -> tuple[list[int], bool]:
        first = asyncio.ensure_future(combiner.submit_async("k", 0))
        while not ran:
            await asyncio.sleep(0.001)
        cancelled = asyncio.ensure_future(combiner.submit_async("k", 1))
        after = asyncio.ensure_future(combiner.submit_async("k", 2))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        release.set()
        results = [await first, await after]
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        results.append(await combiner.submit_async("k", 3))  # the lane still works
        return results, cancelled.cancelled()

    results, was_cancelled = asyncio.run(scenario())
    assert results == [0, 20, 30] and was_cancelled
    assert sorted(ran) == [0, 1, 2, 3]  # 1 ran once, though nobody awaited it any more
    assert combiner.queued("k") == 0


def test_an_awaited_item_after_a_thread_leader_is_taken_over_by_the_pool() -> None:
    release = threading.Event()
    batches: list[list[int]] = []

    def run(_: str, items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        if len(batches) == 1:
            release.wait(5)
        return list(items)

    combiner: GroupCommit[str, int, int] = GroupCommit(run)
    leader = threading.Thread(target=combiner.submit, args=("k", 0))
    leader.start()
    while not batches:
        time.sleep(0.001)

    async def awaited() -> list[int]:
        calls = [asyncio.ensure_future(combiner.submit_async("k", i)) for i in (1, 2)]
        await asyncio.sleep(0.01)
        release.set()
        return list(await asyncio.gather(*calls))

    assert asyncio.run(awaited()) == [1, 2]
    leader.join(5)
    assert batches == [[0], [1, 2]] and combiner.queued("k") == 0


def test_an_interrupted_batch_of_a_worker_abandons_its_items_and_goes_on() -> None:
    calls: list[list[int]] = []
    release = threading.Event()

    def run(_: str, items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        if len(calls) == 1:
            release.wait(5)
            raise Interrupted
        return list(items)

    combiner: GroupCommit[str, int, int] = GroupCommit(run)

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(_outcome(combiner.submit_async("k", 0)))
        while not calls:
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(_outcome(combiner.submit_async("k", i))) for i in (1, 2)]
        await asyncio.sleep(0.01)
        release.set()
        return list(await asyncio.gather(first, *rest))

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[0], BatchAbandoned) and outcomes[1:] == [1, 2]


def test_disabled_awaited_items_run_alone_in_a_thread() -> None:
    seen: list[tuple[str, list[int]]] = []

    def run(key: str, items: Sequence[int]) -> list[int | BaseException]:
        seen.append((threading.current_thread().name, list(items)))
        return [Refused("no") if i < 0 else i for i in items]

    combiner: GroupCommit[str, int, int] = GroupCommit(run, enabled=False)

    async def scenario() -> tuple[int, object]:
        return await combiner.submit_async("k", 3), await _outcome(combiner.submit_async("k", -1))

    three, refused = asyncio.run(scenario())
    assert three == 3 and isinstance(refused, Refused)
    assert [items for _, items in seen] == [[3], [-1]]
    assert all(name != threading.current_thread().name for name, _ in seen)
