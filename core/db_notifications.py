"""One ``LISTEN`` connection per process and PostgreSQL database, shared by everything in the
process that wants the database's notifications (issue 17): live event streams
(core.member_events_wakeup), the cache of authenticated users (core.users.principals) and the
leaderboards' revision (core.page_cache).

PostgreSQL delivers a notification only when its transaction commits, to every listening
connection, and forgets it for a connection that was not listening then. So a subscriber
learns three things: a notification on one of its channels (``notified``), that the listener
has just (re)connected and listens to its channels, so that whatever was sent while it did not
is lost (``connected``), and that it has stopped listening (``disconnected``). A cache that
trusts notifications to invalidate it may only trust them between ``connected`` and
``disconnected``, and should ask ``settled()`` before serving: False while a notification has
reached the connection but not yet its subscribers.

The listener runs in a daemon thread while something holds it (``hold``: a stream, an app),
and ``LINGER`` seconds after the last holder goes (a reconnecting stream reuses it); it
reconnects after a dropped connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import weakref
from typing import Any, Protocol

from core.db import Database

log = logging.getLogger(__name__)

LISTENER_NAME = "paperleague-listener"  # the listening connection's application_name
CHECK_EVERY = 1.0  # seconds between the listener's checks whether it is still needed
LINGER = 30.0  # seconds a listener stays after its last holder
RECONNECT_FIRST, RECONNECT_MOST = 0.05, 2.0  # seconds between reconnect attempts (doubling)


class Subscriber(Protocol):
    """What a listener tells about a connection listening to ``channels``."""

    @property
    def channels(self) -> tuple[str, ...]: ...

    def notified(self, channel: str, payload: str) -> None:
        """A notification on one of ``channels`` committed (called in the listener's thread)."""
        ...

    def connected(self) -> None:
        """Listening now; notifications sent before this are gone."""
        ...

    def disconnected(self) -> None:
        """Not listening any more (until the next ``connected``)."""
        ...


class Listener:
    """One process's ``LISTEN`` connection to one database, in a daemon thread."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.holders: weakref.WeakSet[Any] = weakref.WeakSet()
        self.idle_since: float | None = None
        self.connects = 0  # connections made (reconnects after the first)
        self.listening = threading.Event()
        self.thread = threading.Thread(target=self._run, name=LISTENER_NAME, daemon=True)
        self._subscribers: weakref.WeakSet[Subscriber] = weakref.WeakSet()
        self._listened: set[str] = set()  # channels the current connection listens to
        self._fd: int | None = None  # the current connection's socket, while listening
        self._dispatching = False
        self._closing = False  # the server said it closes the current connection
        self._told: weakref.WeakSet[Subscriber] = weakref.WeakSet()  # connected on this one
        self._ended = False
        self._wake_r, self._wake_w = os.pipe()  # a new subscriber interrupts the wait
        os.set_blocking(self._wake_w, False)  # a full pipe already wakes the thread

    # --- subscribers -------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        """Tell ``subscriber`` what the connection hears (held weakly). Its ``connected``
        comes from the listener's thread once its channels are listened to."""
        with _LISTENERS_LOCK:
            self._subscribers.add(subscriber)
            if not self._ended:  # under the lock the pipe is closed under
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_w, b"s")

    def settled(self) -> bool:
        """Listening, and no notification waits on the connection or is being handed out: a
        commit whose notification reached this process before the call is with its
        subscribers."""
        fd = self._fd
        if fd is None or self._dispatching or self._closing or not self.listening.is_set():
            return False
        try:
            readable, _, _ = select.select([fd], [], [], 0)
        except (OSError, ValueError):  # the connection closed meanwhile
            return False
        return not readable and not (self._dispatching or self._closing) and self._fd == fd

    def _noticed(self, severity: str | None, message: str) -> None:
        """A notice on the listening connection. A server that ends a connection (a
        terminated backend, a shutdown) says so in a FATAL message, which libpq hands out as a
        notice, and closes the socket after it: from the message on, nothing more will be heard,
        though the connection looks open until the close arrives."""
        if severity in {"FATAL", "PANIC"}:
            self._closing = True
            log.info("database listener: the server closes the connection: %s", message)

    # --- the thread --------------------------------------------------------------------------

    def _needed(self) -> bool:
        """Whether to go on; a listener idle past ``LINGER`` leaves the registry and ends."""
        with _LISTENERS_LOCK:
            if len(self.holders):
                self.idle_since = None
                return True
            now = time.monotonic()
            self.idle_since = self.idle_since or now
            if now - self.idle_since < LINGER:
                return True
            if _LISTENERS.get(self.conninfo) is self:
                del _LISTENERS[self.conninfo]
            return False

    def _run(self) -> None:
        import psycopg

        pause = RECONNECT_FIRST
        while self._needed():
            try:
                with psycopg.connect(
                    self.conninfo,
                    autocommit=True,
                    application_name=LISTENER_NAME,
                    connect_timeout=5,
                ) as conn:
                    self._listened = set()
                    self._closing = False
                    conn.add_notice_handler(
                        lambda d: self._noticed(d.severity_nonlocalized, d.message_primary or "")
                    )
                    # psycopg hands out what arrives while it runs a statement (the LISTENs)
                    conn.add_notify_handler(lambda note: self._hand_out(note.channel, note.payload))
                    self._listen_to_new_channels(conn)
                    self.connects += 1
                    pause = RECONNECT_FIRST
                    self._fd = conn.fileno()
                    self.listening.set()
                    try:
                        self._serve(conn)
                    finally:  # before the socket closes: its number may be reused at once
                        self._fd = None
                        self.listening.clear()
            except Exception as exc:  # whatever broke, listen again: subscribers fall back
                self._lost()
                level = logging.INFO if isinstance(exc, psycopg.Error) else logging.WARNING
                log.log(level, "database listener: %s; reconnecting in %.2f s", exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, RECONNECT_MOST)
        self._lost()
        with _LISTENERS_LOCK:
            self._ended = True
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _serve(self, conn: Any) -> None:
        fd = conn.fileno()
        while self._needed():
            readable, _, _ = select.select([fd, self._wake_r], [], [], CHECK_EVERY)
            if self._wake_r in readable:
                os.read(self._wake_r, 4096)
                self._listen_to_new_channels(conn)
            if fd in readable:
                self._dispatching = True
                try:
                    conn.pgconn.consume_input()
                    self._dispatch(conn)
                finally:
                    self._dispatching = False
                if self._closing or conn.closed or conn.pgconn.status != 0:  # CONNECTION_OK
                    raise ConnectionError("the listening connection closed")

    def _listen_to_new_channels(self, conn: Any) -> None:
        """LISTEN to every subscriber's channels not yet listened to, then tell the subscribers
        that were not told yet on this connection that they are connected."""
        with _LISTENERS_LOCK:
            subscribers = list(self._subscribers)
        for channel in sorted({c for s in subscribers for c in s.channels} - self._listened):
            conn.execute(f"LISTEN {channel}")
            self._listened.add(channel)
        self._dispatch(conn)  # what arrived meanwhile, before anyone is told it listens
        for subscriber in subscribers:
            if subscriber not in self._told:
                self._told.add(subscriber)
                subscriber.connected()

    def _dispatch(self, conn: Any) -> None:
        while (note := conn.pgconn.notifies()) is not None:
            self._hand_out(note.relname.decode(), note.extra.decode())

    def _hand_out(self, channel: str, payload: str) -> None:
        with _LISTENERS_LOCK:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if channel in subscriber.channels:
                subscriber.notified(channel, payload)

    def _lost(self) -> None:
        """The connection is gone: every subscriber stops trusting notifications."""
        self.listening.clear()
        self._fd = None
        told, self._told = list(self._told), weakref.WeakSet()
        for subscriber in told:
            subscriber.disconnected()


_LISTENERS: dict[str, Listener] = {}
_LISTENERS_LOCK = threading.RLock()


def conninfo_of(database: Database) -> str:
    """The libpq connection string of ``database`` (PostgreSQL)."""
    return database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def listen(database: Database, holder: object, *subscribers: Subscriber) -> Listener:
    """Make sure this process listens on ``database`` (PostgreSQL) while ``holder`` lives (or
    until ``release``), telling ``subscribers`` what it hears."""
    conninfo = conninfo_of(database)
    with _LISTENERS_LOCK:  # the lock a listener decides to end under: never a holder orphaned
        listener = _LISTENERS.get(conninfo)
        if listener is None:
            listener = _LISTENERS[conninfo] = Listener(conninfo)
            listener.thread.start()
        listener.holders.add(holder)
        listener.idle_since = None
        for subscriber in subscribers:
            listener.subscribe(subscriber)
    return listener


def release(database: Database, holder: object) -> None:
    """``holder`` no longer needs the listener on ``database`` (it lingers, then ends)."""
    with _LISTENERS_LOCK:
        listener = _LISTENERS.get(conninfo_of(database))
        if listener is not None:
            listener.holders.discard(holder)


def listener_of(database: Database) -> Listener | None:
    """This process's listener on ``database``, if one runs."""
    with _LISTENERS_LOCK:
        return _LISTENERS.get(conninfo_of(database))
