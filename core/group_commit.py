"""Group commit: concurrent callers in one process joined into one transaction.

A served write (a check-in, an order) costs a lock and a handful of reads whatever the number
of members it is for, and the services already have batch forms that do N members in about
the statements of one. ``GroupCommit`` feeds them: callers of ``submit`` (request threads) queue
per key; whoever arrives while no batch of that key runs becomes the leader and runs the batch
in its own thread, everyone who arrives meanwhile waits and joins the next batch. No wait is
added ("natural batching"): under no load a batch is one caller, under load batches grow to
whatever queued during the previous one (at most ``max_batch``).

The batch function returns one outcome per item, aligned: a result, or an exception that is
raised in that item's caller only (a refusal). If it raises instead (a database error, a
deadlock, a bug), the batch's items are run again one by one, each in a batch of its own, so a
poisoned item fails its own caller and nobody else.

``submit_async`` is the same for an ``async def`` caller (a served route, the Idempotency-Key
middleware): its item joins the same lane, but the caller awaits a future instead of holding a
thread, and a lane whose next item is awaited is run by a worker of the combiner's own pool,
which takes batch after batch until the lane is empty. So a waiting request holds no thread and
makes no thread-pool hop of its own; a batch's outcomes reach their event loop in one wake-up.
An awaiting caller that is cancelled (its client went away) leaves its item in the lane: it runs
once, in its batch, as a request in a thread would have run to its end.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio.to_thread

K = TypeVar("K", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_MAX_BATCH = 64
DEFAULT_RUNNERS = 8  # worker threads per combiner that run the lanes of awaiting callers


class BatchAbandoned(RuntimeError):
    """The batch an item was in ended without an outcome for it (the leader was interrupted)."""


@dataclass(eq=False, slots=True)
class _Ticket(Generic[Item, Result]):
    """One caller's item: a thread waits on ``woken``, a coroutine awaits ``future``."""

    item: Item
    woken: threading.Event | None = None
    future: asyncio.Future[Result] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    leads: bool = False
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None

    def settle(self, outcome: Result | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.error = outcome
        else:
            self.result = outcome
        self.done = True


@dataclass(eq=False, slots=True)
class _Lane(Generic[Item, Result]):
    """One key's queue: ``waiting`` in arrival order; ``busy`` while some leader runs a batch."""

    waiting: list[_Ticket[Item, Result]] = field(default_factory=list)
    busy: bool = False


BatchFunction = Callable[[K, Sequence[Item]], Sequence[Result | BaseException]]


class GroupCommit(Generic[K, Item, Result]):
    """Join concurrent ``submit(key, item)`` (or ``submit_async``) calls of one key into
    batches of ``run_batch``.

    ``run_batch(key, items)`` opens, fills and commits one transaction and returns an outcome
    per item (see the module docstring). ``enabled=False`` runs every item alone, in its
    caller's thread (``submit``) or in a thread-pool thread (``submit_async``), as if there
    were no combiner (``PAPERLEAGUE_GROUP_COMMIT=false``). ``runners``: how many lanes the
    combiner's own workers run at once for awaiting callers (more wait for a free worker).
    """

    def __init__(
        self,
        run_batch: BatchFunction[K, Item, Result],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        enabled: bool = True,
        runners: int = DEFAULT_RUNNERS,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if runners < 1:
            raise ValueError("runners must be at least 1")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.enabled = enabled
        self._runners = runners
        self._lock = threading.Lock()
        self._lanes: dict[K, _Lane[Item, Result]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, key: K, item: Item) -> Result:
        """Run ``item`` in the next batch of ``key``; its result, or raise its refusal. Blocks
        the calling thread until that batch has committed (or failed)."""
        if not self.enabled:
            return self._alone(key, item)
        ticket: _Ticket[Item, Result] = _Ticket(item, woken=threading.Event())
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.waiting.append(ticket)
            if not lane.busy:
                lane.busy = ticket.leads = True
        if not ticket.leads:
            assert ticket.woken is not None
            ticket.woken.wait()  # until a batch settled it or it was made the next leader
        if ticket.leads and not ticket.done:
            self._lead(key, lane)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]  # settled without error: a Result

    async def submit_async(self, key: K, item: Item) -> Result:
        """``submit`` for a coroutine: awaits the outcome of ``item``'s batch without holding a
        thread. Cancelling the await does not take the item back: it runs in its batch."""
        if not self.enabled:
            return await anyio.to_thread.run_sync(self._alone, key, item)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        ticket: _Ticket[Item, Result] = _Ticket(item, future=future, loop=loop)
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.waiting.append(ticket)
            starts = not lane.busy
            lane.busy = True
        if starts:
            self._run_elsewhere(key, lane)
        return await future

    def queued(self, key: K) -> int:
        """How many callers of ``key`` wait for a batch (not counting a running batch's)."""
        with self._lock:
            lane = self._lanes.get(key)
            return 0 if lane is None else len(lane.waiting)

    def _lead(self, key: K, lane: _Lane[Item, Result]) -> None:
        """Run one batch from the head of the lane (the leader is its first item), settle its
        tickets, then hand the lane to the first caller still waiting, or free it: a thread
        waiting leads next, an awaited item has a worker of the pool take the lane over."""
        batch = self._take(lane)
        try:
            self._settle(key, batch)
        finally:
            with self._lock:
                following = lane.waiting[0] if lane.waiting else None
                if following is None:
                    self._free(key, lane)
                elif following.woken is not None:
                    following.leads = True
            _deliver(batch)
            if following is not None:
                if following.woken is not None:
                    following.woken.set()
                else:
                    self._run_elsewhere(key, lane)

    def _drain(self, key: K, lane: _Lane[Item, Result]) -> None:
        """A pool worker's run of a lane: batch after batch until nobody waits (threads that
        queued meanwhile are settled like the rest and woken)."""
        while True:
            batch = self._take(lane)
            try:
                self._settle(key, batch)
            except BaseException:  # noqa: S110 - a worker has nobody to raise to; see _deliver
                pass  # its items are settled as abandoned; the lane goes on
            finally:
                _deliver(batch)
            with self._lock:
                if not lane.waiting:
                    self._free(key, lane)
                    return

    def _run_elsewhere(self, key: K, lane: _Lane[Item, Result]) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._runners, thread_name_prefix="group-commit")
            pool = self._pool
        pool.submit(self._drain, key, lane)

    def _take(self, lane: _Lane[Item, Result]) -> list[_Ticket[Item, Result]]:
        with self._lock:
            batch = lane.waiting[: self.max_batch]
            del lane.waiting[: self.max_batch]
        return batch

    def _free(self, key: K, lane: _Lane[Item, Result]) -> None:
        """The lane is empty: the next caller of ``key`` starts a new one (``_lock`` held)."""
        lane.busy = False
        del self._lanes[key]

    def _settle(self, key: K, batch: Sequence[_Ticket[Item, Result]]) -> None:
        try:
            outcomes = self._outcomes(key, [t.item for t in batch])
        except Exception as failure:
            if len(batch) == 1:
                batch[0].settle(failure)
                return
            for ticket in batch:  # one by one: only the poisoned item fails, in its own caller
                try:
                    ticket.settle(self._outcomes(key, [ticket.item])[0])
                except Exception as own_failure:
                    ticket.settle(own_failure)
            return
        for ticket, outcome in zip(batch, outcomes, strict=True):
            ticket.settle(outcome)

    def _outcomes(self, key: K, items: Sequence[Item]) -> Sequence[Result | BaseException]:
        outcomes = self.run_batch(key, items)
        if len(outcomes) != len(items):
            raise RuntimeError(f"the batch gave {len(outcomes)} outcomes for {len(items)} items")
        return outcomes

    def _alone(self, key: K, item: Item) -> Result:
        (outcome,) = self._outcomes(key, [item])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def _deliver(batch: Sequence[_Ticket[Item, Result]]) -> None:
    """Hand each ticket its outcome (abandoned, if the batch ended without one): a waiting
    thread is woken; the futures of each event loop are resolved in one call on that loop."""
    awaited: dict[asyncio.AbstractEventLoop, list[_Ticket[Item, Result]]] = {}
    for ticket in batch:
        if not ticket.done:
            ticket.settle(BatchAbandoned("the batch ended without this item's outcome"))
        if ticket.woken is not None:
            ticket.woken.set()
        elif ticket.loop is not None:
            awaited.setdefault(ticket.loop, []).append(ticket)
    for loop, tickets in awaited.items():
        try:
            loop.call_soon_threadsafe(_resolve, tickets)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            pass


def _resolve(tickets: Sequence[_Ticket[Item, Result]]) -> None:
    """On the tickets' event loop: each future gets its outcome (a cancelled one is skipped)."""
    for ticket in tickets:
        future = ticket.future
        if future is None or future.done():
            continue
        if ticket.error is not None:
            future.set_exception(ticket.error)
        else:
            future.set_result(ticket.result)  # type: ignore[arg-type]  # settled: a Result
