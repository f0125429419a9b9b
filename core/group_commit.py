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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_MAX_BATCH = 64


class BatchAbandoned(RuntimeError):
    """The batch an item was in ended without an outcome for it (the leader was interrupted)."""


@dataclass(eq=False, slots=True)
class _Ticket(Generic[Item, Result]):
    item: Item
    woken: threading.Event = field(default_factory=threading.Event)
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
    """Join concurrent ``submit(key, item)`` calls of one key into batches of ``run_batch``.

    ``run_batch(key, items)`` opens, fills and commits one transaction and returns an outcome
    per item (see the module docstring). ``enabled=False`` runs every item alone in its
    caller's thread, as if there were no combiner (``PAPERLEAGUE_GROUP_COMMIT=false``).
    """

    def __init__(
        self,
        run_batch: BatchFunction[K, Item, Result],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        enabled: bool = True,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.enabled = enabled
        self._lock = threading.Lock()
        self._lanes: dict[K, _Lane[Item, Result]] = {}

    def submit(self, key: K, item: Item) -> Result:
        """Run ``item`` in the next batch of ``key``; its result, or raise its refusal. Blocks
        the calling thread until that batch has committed (or failed)."""
        if not self.enabled:
            return self._alone(key, item)
        ticket: _Ticket[Item, Result] = _Ticket(item)
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.waiting.append(ticket)
            if not lane.busy:
                lane.busy = ticket.leads = True
        if not ticket.leads:
            ticket.woken.wait()  # until a batch settled it or it was made the next leader
        if ticket.leads and not ticket.done:
            self._lead(key, lane)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]  # settled without error: a Result

    def queued(self, key: K) -> int:
        """How many callers of ``key`` wait for a batch (not counting a running batch's)."""
        with self._lock:
            lane = self._lanes.get(key)
            return 0 if lane is None else len(lane.waiting)

    def _lead(self, key: K, lane: _Lane[Item, Result]) -> None:
        """Run one batch from the head of the lane (the leader is its first item), settle its
        tickets, then hand the lane to the first caller still waiting, or free it."""
        with self._lock:
            batch = lane.waiting[: self.max_batch]
            del lane.waiting[: self.max_batch]
        try:
            self._settle(key, batch)
        finally:
            with self._lock:
                following = lane.waiting[0] if lane.waiting else None
                if following is not None:
                    following.leads = True
                else:
                    lane.busy = False
                    del self._lanes[key]
            for ticket in batch:
                if not ticket.done:
                    ticket.settle(BatchAbandoned("the batch ended without this item's outcome"))
                ticket.woken.set()
            if following is not None:
                following.woken.set()

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
