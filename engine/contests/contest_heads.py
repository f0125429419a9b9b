"""Contests' heads (id, committed tick, day, invite code) kept in process (issue 17), so a
leaderboard read whose page is kept too needs no database round trip at all.

A head changes only when the clock commits a tick (or the contest's invite code changes, or
the contest goes): on PostgreSQL a trigger on ``contests`` (migration 0033) does
``pg_notify('paperleague_contests', '<contest id>')`` in the changing transaction, and the
process's listener (core.db_notifications) drops the contest here as it reads the
notification. The same contract as core.users.principals: a head is trusted only while the
listener listens and has handed out everything that reached it (``Listener.settled``), a
reconnect forgets every head (what changed meanwhile is unknown), and a head read from a
snapshot older than a change is never kept after it (``epoch``). So once a tick's notification
has reached a worker, that worker never serves an older tick.

SQLite (one process, no listener): never trusted; every read asks the database, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from core import db_notifications
from core.db import Database
from engine.trading.store_accounts import ContestHead

CHANNEL = "paperleague_contests"


class ContestHeads:
    """At most ``size`` contest heads of one database (least recently used dropped)."""

    channels = (CHANNEL,)

    def __init__(self, *, size: int = 1024) -> None:
        self._size = size
        self._kept: OrderedDict[int, ContestHead] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0
        self._trusted = False
        self._listener: db_notifications.Listener | None = None
        self.source: str | None = None  # the database heard from (its URL, no password)

    # --- readers -----------------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether every change that reached this process has been applied here."""
        listener = self._listener
        return self._trusted and listener is not None and listener.settled()

    def epoch(self) -> int:
        """Taken before the read of a head that may be remembered."""
        return self._epoch

    def get(self, contest_id: int) -> ContestHead | None:
        """The kept head of ``contest_id``, if kept and trusted now."""
        if not self.usable():
            return None
        with self._lock:
            found = self._kept.get(contest_id)
            if found is not None:
                self._kept.move_to_end(contest_id)
        return found if found is not None and self.usable() else None

    def remember(self, source: str, head: ContestHead, *, epoch: int) -> None:
        """Keep ``head``, read from ``source`` after ``epoch()`` returned ``epoch``, unless a
        change was heard since (the head may be older than it) or ``source`` is not the
        database this cache hears from."""
        if source != self.source or not self.usable():
            return
        with self._lock:
            if self._epoch != epoch:
                return
            self._kept[head.id] = head
            self._kept.move_to_end(head.id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    # --- invalidation ------------------------------------------------------------------------

    def forget(self, contest_id: int | None) -> None:
        """Drop ``contest_id``'s head (``None``: every head)."""
        with self._lock:
            self._epoch += 1
            if contest_id is None:
                self._kept.clear()
            else:
                self._kept.pop(contest_id, None)

    def notified(self, channel: str, payload: str) -> None:
        self.forget(int(payload) if payload.isdigit() else None)

    def connected(self) -> None:
        self.forget(None)  # what changed while nobody listened is unknown
        self._trusted = True

    def disconnected(self) -> None:
        self._trusted = False
        self.forget(None)

    # --- wiring ------------------------------------------------------------------------------

    def attach(self, database: Database, holder: object) -> None:
        """Trust notifications from ``database`` (PostgreSQL) once the process's listener,
        held by ``holder``, listens; on SQLite nothing is ever kept."""
        if database.is_sqlite:
            return
        self.source = database.engine.url.render_as_string(hide_password=True)
        self._listener = db_notifications.listen(database, holder, self)

    def detach(self, database: Database, holder: object) -> None:
        """Stop trusting notifications (a stopping app)."""
        self.disconnected()
        if self._listener is not None:
            db_notifications.release(database, holder)
            self._listener = None
