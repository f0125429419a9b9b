"""Wake the live event streams when member events commit, so a stream need not wait for its poll.

The ``member_events`` table stays the only truth: a wake-up only tells a stream to read it now.
A lost wake-up therefore delays an event by at most one poll (``event_stream_poll_seconds``,
the safety net), and never loses one.

Writers (``core.member_events_store.record_account_events``) announce in the transaction that
writes the events:

- **PostgreSQL**: ``pg_notify('paperleague_member_events', '<member ids>')`` in the writing
  transaction. PostgreSQL delivers a notification only when its transaction commits, to every
  process, and folds identical ones of a transaction into one, so a tick that writes fills and
  statuses for the same members sends one. The payload is the members' ids, comma-separated,
  or empty ("every stream: check") when they would not fit in a notification.
  Each process keeps one listening connection (core.db_notifications: a daemon thread, held by
  each stream and by the app), fanning the notifications out to its own streams; it reconnects
  after a dropped connection and then wakes every stream, since notifications sent meanwhile
  are gone.
- **SQLite** (embedded, one process): the writing session, once committed, wakes every stream
  of this process; streams of another process fall back to their poll.

A stream takes a ``Waiter`` before its first read and awaits ``waiter.wait(poll)`` between
reads: a commit after the waiter exists wakes it, even one that lands while the stream reads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Collection, Iterable

import anyio
from sqlalchemy import Table, event, text
from sqlalchemy.orm import Session

from core import db_notifications
from core.db import Database
from core.db_notifications import LISTENER_NAME, Listener, listener_of

__all__ = ["LISTENER_NAME", "Listener", "Waiter", "announce", "announce_everyone", "listener_of"]

log = logging.getLogger(__name__)

CHANNEL = "paperleague_member_events"
PAYLOAD_LIMIT = 7000  # bytes of member ids in one notification (PostgreSQL allows < 8000)
_PENDING = "member_events_wakeup"  # session.info key: this SQLite transaction wrote events


class Waiter:
    """One stream's wake-up: ``await wait(timeout)`` returns early once an event of its member
    (or of anybody, for a payload-less wake-up) has committed since the last wait."""

    def __init__(self, user_id: int, *, enabled: bool = True) -> None:
        self.user_id = user_id
        self.enabled = enabled
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, less if woken; True if woken."""
        if not self.enabled:
            await anyio.sleep(timeout)
            return False
        with anyio.move_on_after(timeout):
            await self._woken.wait()
        woken = self._woken.is_set()
        self._woken.clear()  # a wake-up after this is for a commit the next read may miss
        return woken

    def wake(self) -> None:
        """From any thread: end the current or next ``wait`` now."""
        try:
            self._loop.call_soon_threadsafe(self._woken.set)
        except RuntimeError:  # the stream's event loop has closed: nobody waits any more
            pass


class _Hub:
    """This process's waiting streams, each held weakly (a stream that ends just goes away)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: weakref.WeakSet[Waiter] = weakref.WeakSet()

    def add(self, waiter: Waiter) -> None:
        with self._lock:
            self._waiters.add(waiter)

    def wake(self, user_ids: Collection[int] | None) -> int:
        """Wake the streams of ``user_ids`` (``None``: every stream); returns how many."""
        with self._lock:
            waiters = list(self._waiters)
        chosen = [w for w in waiters if w.enabled and (user_ids is None or w.user_id in user_ids)]
        for waiter in chosen:
            waiter.wake()
        return len(chosen)


HUB = _Hub()


def waiter(database: Database, user_id: int, *, enabled: bool = True) -> Waiter:
    """A wake-up for a stream of ``user_id``'s events on ``database`` (in the stream's event
    loop). ``enabled=False``: a plain sleep (poll only). On PostgreSQL it makes sure this
    process listens for notifications."""
    made = Waiter(user_id, enabled=enabled)
    if enabled:
        HUB.add(made)
        if not database.is_sqlite:
            _listener_for(database, made)
    return made


# --- writers ----------------------------------------------------------------------------------


def announce(session: Session, accounts_table: Table, account_ids: Iterable[int]) -> None:
    """Announce, in ``session``'s open transaction, that events for the members of
    ``account_ids`` (rows of ``accounts_table``, whose ``member_id`` is the member) are written:
    delivered when the transaction commits, never if it rolls back."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.info[_PENDING] = True
        return
    if 2 * len(ids) > PAYLOAD_LIMIT:  # each id takes a digit and a comma at least: too long
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        return
    members = text(
        "SELECT pg_notify(:channel, CASE WHEN length(m) <= :limit THEN m ELSE '' END) FROM "
        "(SELECT coalesce(string_agg(DISTINCT member_id::text, ',' ORDER BY member_id::text), '')"
        f" AS m FROM {accounts_table.name} WHERE id = ANY(:ids)) AS members"
    )
    connection.execute(members, {"channel": CHANNEL, "limit": PAYLOAD_LIMIT, "ids": ids})


def announce_everyone(session: Session) -> None:
    """Announce, in ``session``'s open transaction, events every stream should look at (a
    contest's broadcast): delivered when the transaction commits, never if it rolls back."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.info[_PENDING] = True
        return
    connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        HUB.wake(None)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def member_ids(payload: str) -> frozenset[int] | None:
    """The member ids a notification names; ``None`` (every stream) for an empty or bad one."""
    try:
        found = frozenset(int(part) for part in payload.split(",") if part)
    except ValueError:
        return None
    return found or None


# --- the PostgreSQL listener (core.db_notifications: one connection per process) -------------


class _StreamWakeups:
    """The listener's subscriber that wakes this process's streams."""

    channels = (CHANNEL,)

    def notified(self, channel: str, payload: str) -> None:
        HUB.wake(member_ids(payload))

    def connected(self) -> None:
        HUB.wake(None)  # whatever committed while nobody listened

    def disconnected(self) -> None:
        pass  # the streams' poll covers until the next connection


_WAKEUPS = _StreamWakeups()


def _listener_for(database: Database, stream: Waiter) -> None:
    """Make sure this process listens on ``database`` while ``stream`` lives."""
    db_notifications.listen(database, stream, _WAKEUPS)
