"""The authenticated user of a request, kept in process (issue 17): every authenticated request
used to read the user and their roles (and, before a write, their consents) from the database.

An entry is dropped whenever anything it was read from changes, never after a guessed time:

- **PostgreSQL**: triggers on ``users``, ``user_roles``, ``consent_records`` and
  ``consent_documents`` (migration 0032) ``pg_notify('paperleague_users', '<user id>')`` (an
  empty payload, a new document, drops every entry) in the writing transaction, whatever
  writes it (the ORM, bulk SQL, an erasure, psql); the process's listener
  (core.db_notifications) hands the notifications to every cache of the process. The cache is
  trusted only while the listener listens and has handed out everything that reached it
  (``Listener.settled``); before its first connection and between a drop and the reconnect,
  every request reads the database, as without a cache, and a reconnect clears the cache,
  since notifications sent meanwhile are gone. PostgreSQL hands a notification to the
  listening connections as its transaction commits, and the listener drops the entry as soon
  as it reads it; a request that finds the notification waiting on the connection reads the
  database (``settled``). What is left is the delivery itself, from the committing server
  process to the listening one: well under a millisecond on one host, less than the HTTP
  round trip that separates a writer's response from anybody's next request, like a request
  already being authenticated as the change commits.
- **SQLite** (one process): a connection that ran a statement writing one of those tables
  drops every entry of the process's caches as it commits. Several processes on one SQLite
  file cannot hear each other: ``paperleague serve --workers`` turns the cache off there.

An entry read from a snapshot older than a change is never kept after it: ``remember`` keeps a
value only if no invalidation came between the read's start (``epoch()``) and its end.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, Pool, event

from core import db_notifications
from core.db import Database
from core.users.model import User, UserId

CHANNEL = "paperleague_users"
TABLES = ("users", "user_roles", "consent_records", "consent_documents")
# A statement that may write one of TABLES (reads never start with these words).
_WRITES = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|ALTER|DROP|CREATE|WITH)\b.*\b(" + "|".join(TABLES) + r")\b",
    re.IGNORECASE | re.DOTALL,
)
_TOUCHED = "principals_touched"  # connection.info key: this transaction wrote a user table


@dataclass(frozen=True, slots=True)
class Principal:
    """What authenticating a request reads: the user, and whether they have accepted the latest
    version of every required consent (``None``: not asked yet)."""

    user: User | None  # None: no such user (ids are never reused, so that stays true)
    consents_current: bool | None = None


class PrincipalCache:
    """Principals by user id, at most ``size`` of them (least recently used dropped)."""

    def __init__(self, *, size: int = 50_000, enabled: bool = True) -> None:
        self._size = size
        self._kept: OrderedDict[UserId, Principal] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0
        self._consents_required: bool | None = None  # process-wide; None: not known
        self._trusted = False
        self._listener: db_notifications.Listener | None = None
        self.enabled = enabled

    channels = (CHANNEL,)

    # --- readers -----------------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether invalidations reach this cache now."""
        if not (self.enabled and self._trusted):
            return False
        return self._listener is None or self._listener.settled()

    def epoch(self) -> int:
        """Taken before a read whose result may be remembered."""
        return self._epoch

    def get(self, user_id: UserId) -> Principal | None:
        """The kept principal of ``user_id``, if it is kept and may be trusted now."""
        if not self.usable():
            return None
        with self._lock:
            found = self._kept.get(user_id)
            if found is not None:
                self._kept.move_to_end(user_id)
        return found if found is not None and self.usable() else None

    def remember(self, user_id: UserId, principal: Principal, *, epoch: int) -> None:
        """Keep ``principal``, read after ``epoch()`` returned ``epoch``, unless something
        was invalidated since (it may be older than the change)."""
        if not self.usable():
            return
        with self._lock:
            if self._epoch != epoch:
                return
            self._kept[user_id] = principal
            self._kept.move_to_end(user_id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def with_consents(self, user_id: UserId, current: bool, *, epoch: int) -> None:
        """Note the outcome of the consent check of a kept principal."""
        with self._lock:
            found = self._kept.get(user_id)
        if found is not None:
            self.remember(user_id, replace(found, consents_current=current), epoch=epoch)

    def consents_required(self) -> bool | None:
        """Whether a required consent document is published, as last read and kept (``None``:
        not known, or not trusted now). A new document drops it, as it drops every entry."""
        if not self.usable():
            return None
        required = self._consents_required
        return required if self.usable() else None

    def remember_consents_required(self, required: bool, *, epoch: int) -> None:
        """Keep whether a required document is published, read after ``epoch()`` returned
        ``epoch``, unless something was invalidated since."""
        if not self.usable():
            return
        with self._lock:
            if self._epoch == epoch:
                self._consents_required = required

    # --- invalidation ------------------------------------------------------------------------

    def forget(self, user_id: UserId | None) -> None:
        """Drop ``user_id``'s entry (``None``: every entry)."""
        with self._lock:
            self._epoch += 1
            if user_id is None:
                self._kept.clear()
                self._consents_required = None
            else:
                self._kept.pop(user_id, None)

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
        """Start trusting invalidations from ``database``: on PostgreSQL once the process's
        listener (held by ``holder``) listens; on SQLite from its commits, at once."""
        if not self.enabled:
            return
        if database.is_sqlite:
            if _sqlite_file(database.engine) is None:
                return  # in memory: a test's scratch database, read as without a cache
            _watch_sqlite(database.engine, self)
            self.connected()
        else:
            self._listener = db_notifications.listen(database, holder, self)

    def detach(self, database: Database, holder: object) -> None:
        """Stop trusting invalidations (a stopping app)."""
        self.disconnected()
        if self._listener is not None:
            db_notifications.release(database, holder)
            self._listener = None


# --- SQLite: invalidation on commit, in process ------------------------------------------------
# Every engine of the process on the same file is watched (a CLI command run in process, a
# second Database), not only the app's. The ``commit`` event comes before the commit itself, so
# the entries go then and again once the connection is back in the pool or begins its next
# transaction: a reader that read the older rows meanwhile kept them at most until then.

_SQLITE_CACHES: dict[str, weakref.WeakSet[PrincipalCache]] = {}
_SQLITE_LOCK = threading.Lock()
_COMMITTED = "principals_committed"  # connection record info: forget again after the commit


def _sqlite_file(engine: Engine) -> str | None:
    name = engine.url.database
    return None if not name or name == ":memory:" else os.path.realpath(name)


def _watch_sqlite(engine: Engine, cache: PrincipalCache) -> None:
    path = _sqlite_file(engine)
    with _SQLITE_LOCK:
        if not _SQLITE_CACHES:
            event.listen(Engine, "before_cursor_execute", _note_write)
            event.listen(Engine, "commit", _forget_on_commit)
            event.listen(Engine, "rollback", _forget_nothing)
            event.listen(Engine, "begin", _forget_after_commit)
            event.listen(Pool, "checkin", _forget_after_commit_checkin)
        _SQLITE_CACHES.setdefault(path or "", weakref.WeakSet()).add(cache)


def _caches_of(engine: Engine) -> list[PrincipalCache]:
    path = _sqlite_file(engine)
    with _SQLITE_LOCK:
        return list(_SQLITE_CACHES.get(path, ())) if path else []


def _note_write(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if conn.dialect.name == "sqlite" and _WRITES.match(statement):
        conn.info[_TOUCHED] = conn.engine


def _forget_on_commit(conn: Any) -> None:
    engine = conn.info.pop(_TOUCHED, None)
    if engine is not None:
        conn.info[_COMMITTED] = engine
        for cache in _caches_of(engine):
            cache.forget(None)


def _forget_nothing(conn: Any) -> None:
    conn.info.pop(_TOUCHED, None)


def _forget_after(info: dict[Any, Any]) -> None:
    engine = info.pop(_COMMITTED, None)
    if engine is not None:
        for cache in _caches_of(engine):
            cache.forget(None)


def _forget_after_commit(conn: Any) -> None:
    _forget_after(conn.info)


def _forget_after_commit_checkin(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        _forget_after(record.info)
