"""A cache of pre-serialized pages that every worker of a deployment can share.

Values are bytes under string keys. A key must name everything its value depends on (for a
leaderboard: the database, the contest, the committed tick and the page), so a value is never
wrong for its key and a newer state simply reads other keys: invalidation is a new version in
the key, never a delete. Entries also expire (``ttl_seconds``) so old versions do not pile up.

``revision(scope)`` / ``bump(scope)`` are a shared counter a writer raises when something a
cached page shows changes outside the key's version (a display name erased mid-tick); readers
put it in their keys too.

Implementations: ``RedisPageCache`` (``PAPERLEAGUE_REDIS_URL``: shared by every worker and
host), ``InProcessPageCache`` (one process's LRU: the SQLite default) and, on PostgreSQL
without Redis, ``TwoLevelPageCache`` (this process's LRU in front of
``core.page_cache_postgres.PostgresPageCache``, shared by every worker on the database;
``PAPERLEAGUE_PAGE_CACHE_POSTGRES=false`` turns it off). A cache that cannot
answer (Redis down) misses; callers then compute, so the cache is never needed for correctness.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis

    from core.config import Settings
    from core.db import Database
    from core.db_notifications import Listener

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 900
BOARDS_CHANNEL = "paperleague_boards"  # the shared revisions' bumps (migration 0032)


class PageCache(Protocol):
    """Bytes by key, shared as widely as the implementation reaches."""

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        """The revision of ``scope`` and the values of ``keys`` in order, ``None`` for each
        missing one: one round trip."""
        ...

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store values (each expires after the cache's TTL); best effort."""
        ...

    def revision(self, scope: str) -> int:
        """The counter of ``scope`` (0 until first bumped)."""
        ...

    def bump(self, scope: str) -> int:
        """Raise the counter of ``scope`` by one and return it."""
        ...

    def clear(self) -> None:
        """Forget everything this cache holds (tests; what a restart does in-process)."""
        ...


class InProcessPageCache:
    """The most recently used ``size`` values of this process, each for ``ttl_seconds``.

    A bump reaches this process only, so with several workers and no Redis another worker's
    bump shows here after the TTL (a minute) or the next tick, whichever comes first."""

    def __init__(self, size: int = 4096, *, ttl_seconds: float = 60.0) -> None:
        self._size = size
        self._ttl = ttl_seconds
        self._kept: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._revisions: dict[str, int] = {}
        self._lock = threading.Lock()

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        now = time.monotonic()
        found: list[bytes | None] = []
        with self._lock:
            revision = self._revisions.get(scope, 0)
            for key in keys:
                kept = self._kept.get(key)
                if kept is None or kept[0] < now:
                    found.append(None)
                    continue
                self._kept.move_to_end(key)
                found.append(kept[1])
        return revision, found

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        expires = time.monotonic() + self._ttl
        with self._lock:
            for key, value in items:
                self._kept[key] = (expires, value)
                self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def revision(self, scope: str) -> int:
        with self._lock:
            return self._revisions.get(scope, 0)

    def bump(self, scope: str) -> int:
        with self._lock:
            self._revisions[scope] = self._revisions.get(scope, 0) + 1
            return self._revisions[scope]

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._revisions.clear()


class RedisPageCache:
    """Values in Redis under ``prefix``: one cache for every worker that names the same server.

    Errors are logged and read as misses (writes are dropped), except ``bump``, which raises:
    whether a failed invalidation is fatal is the writer's call."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "pl:", ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    @property
    def prefix(self) -> str:
        return self._prefix

    @classmethod
    def connect(cls, url: str, *, prefix: str = "pl:") -> RedisPageCache:
        import redis  # only deployments that configure Redis import it

        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, prefix=prefix)

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        try:
            found = self._client.mget(
                [self._revision_key(scope), *(self._prefix + k for k in keys)]
            )
        except Exception:  # noqa: BLE001 - a cache that cannot answer misses
            log.warning("page cache: Redis read failed", exc_info=True)
            return -1, [None] * len(keys)  # -1: a revision no stored value carries
        revision, *values = found
        return 0 if revision is None else int(revision), [_bytes(value) for value in values]

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        if not items:
            return
        try:
            pipe = self._client.pipeline(transaction=False)
            for key, value in items:
                pipe.set(self._prefix + key, value, ex=self._ttl)
            pipe.execute()
        except Exception:  # noqa: BLE001 - a value not kept is computed again
            log.warning("page cache: Redis write failed", exc_info=True)

    def revision(self, scope: str) -> int:
        return self.get_many(scope, [])[0]

    def bump(self, scope: str) -> int:
        return int(self._client.incr(self._revision_key(scope)))

    def _revision_key(self, scope: str) -> str:
        return f"{self._prefix}rev:{scope}"

    def clear(self) -> None:
        keys = list(self._client.scan_iter(match=self._prefix + "*", count=1000))
        if keys:
            self._client.delete(*keys)


def _bytes(value: bytes | str | None) -> bytes | None:
    # The client returns bytes (no decode_responses); a str only from a client that decodes.
    return value.encode() if isinstance(value, str) else value


class NotifiedRevisions:
    """The revisions of the shared cache as its bumps announce them (a trigger on
    ``page_cache_revisions``, migration 0032, notifies ``paperleague_boards`` with
    ``'<revision> <scope>'`` as the bump commits), heard by the process's listener
    (core.db_notifications).

    A revision only grows, so the largest one heard or read is one that was current when it
    was heard or read: never newer than the shared one, which is all a reader's stamp needs
    (core.page_cache's callers read the revision before their snapshot). It is trusted only
    while the listener listens and has handed out what reached it; a scope not heard of since
    the listener connected is read from the database once, and kept unless the connection was
    lost meanwhile."""

    channels = (BOARDS_CHANNEL,)

    def __init__(self) -> None:
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()
        self._trusted = False
        self._listener: Listener | None = None
        self.generation = 0  # raised on every (dis)connection: reads from before are not kept

    def known(self, scope: str) -> int | None:
        """The current revision of ``scope`` without asking the database, if known."""
        listener = self._listener
        if not self._trusted or listener is None or not listener.settled():
            return None
        return self._latest.get(scope)

    def observe(self, scope: str, revision: int, *, generation: int) -> None:
        """Note ``revision``, read from the database after ``generation`` was current."""
        with self._lock:
            if self._trusted and generation == self.generation:
                self._latest[scope] = max(revision, self._latest.get(scope, revision))

    def notified(self, channel: str, payload: str) -> None:
        number, _, scope = payload.partition(" ")
        if not number.isdigit():
            return
        with self._lock:
            self._latest[scope] = max(int(number), self._latest.get(scope, 0))

    def connected(self) -> None:
        with self._lock:
            self._latest.clear()  # bumps while nobody listened are unknown
            self.generation += 1
            self._trusted = True

    def disconnected(self) -> None:
        with self._lock:
            self._trusted = False
            self._latest.clear()
            self.generation += 1

    def attach(self, database: Database, holder: object) -> None:
        """Listen on ``database`` (PostgreSQL) while ``holder`` lives."""
        from core import db_notifications

        self._listener = db_notifications.listen(database, holder, self)

    def detach(self, database: Database, holder: object) -> None:
        from core import db_notifications

        self.disconnected()
        if self._listener is not None:
            db_notifications.release(database, holder)
            self._listener = None


class TwoLevelPageCache:
    """This process's ``local`` cache in front of a ``shared`` one (PostgreSQL): a value found
    locally costs no transfer, one another worker put is fetched once, and every write goes to
    both.

    The revision is the shared one: asked in the same round trip as the keys missing locally,
    or, when none is, taken from the bumps' notifications (``NotifiedRevisions``: a bump by any
    worker reaches this process as its notification is delivered, a moment after the bump's
    commit), or read alone when the listener is not listening. So a bump is seen by the next
    read after it reached the process, and a value kept here from before it, stamped with the
    older revision, is never current after that. When
    the shared revision moves, the local values are dropped, so the next reads take the
    values computed after the bump from the shared cache instead of recomputing them."""

    def __init__(self, local: PageCache, shared: PageCache) -> None:
        self._local = local
        self._shared = shared
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self.revisions = NotifiedRevisions()  # trusted once attached to a listener

    @property
    def shared(self) -> PageCache:
        return self._shared

    def _shared_get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        generation = self.revisions.generation
        revision, found = self._shared.get_many(scope, keys)
        if revision >= 0:
            self.revisions.observe(scope, revision, generation=generation)
        return revision, found

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        _, found = self._local.get_many(scope, keys)
        missing = [key for key, value in zip(keys, found, strict=True) if value is None]
        known = None if missing else self.revisions.known(scope)
        fetched: list[bytes | None]
        if known is not None:
            revision, fetched = known, []
        else:
            revision, fetched = self._shared_get_many(scope, missing)
        if revision >= 0 and self._moved(scope, revision):
            self._local.clear()
            revision, found = self._shared_get_many(scope, keys)
            missing, fetched = list(keys), found
        else:
            by_key = dict(zip(missing, fetched, strict=True))
            found = [
                by_key[key] if value is None else value
                for key, value in zip(keys, found, strict=True)
            ]
        kept = [(k, v) for k, v in zip(missing, fetched, strict=True) if v is not None]
        self._local.put_many(kept)
        return revision, found

    def _moved(self, scope: str, revision: int) -> bool:
        """Whether ``revision`` differs from the one this process last saw (remembered)."""
        with self._lock:
            before = self._seen.get(scope)
            self._seen[scope] = revision
        return before is not None and before != revision

    def kept_here(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]] | None:
        """``get_many`` from this process alone, when it can answer so: the revision heard by
        notification (trusted now) and the one the local values were kept under. ``None``
        when either is not so: ``get_many`` then asks the shared tier."""
        known = self.revisions.known(scope)
        if known is None:
            return None
        with self._lock:
            if self._seen.get(scope) != known:  # moved: get_many drops the local values first
                return None
        return known, self._local.get_many(scope, keys)[1]

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self._local.put_many(items)
        self._shared.put_many(items)

    def revision(self, scope: str) -> int:
        known = self.revisions.known(scope)
        return known if known is not None else self._shared_get_many(scope, [])[0]

    def bump(self, scope: str) -> int:
        return self._shared.bump(scope)

    def clear(self) -> None:
        self._local.clear()
        self._shared.clear()


def kept_here(
    pages: PageCache, scope: str, keys: Sequence[str]
) -> tuple[int, list[bytes | None]] | None:
    """What ``pages.get_many`` would answer, if this process can answer it without a round
    trip or a wait (an event loop may ask); ``None`` when the answer is elsewhere (Redis, the
    shared tier, a revision not heard)."""
    if isinstance(pages, InProcessPageCache):
        return pages.get_many(scope, keys)
    if isinstance(pages, TwoLevelPageCache):
        return pages.kept_here(scope, keys)
    return None


def page_cache_for(settings: Settings) -> PageCache:
    """Redis when a URL is configured; else, on PostgreSQL (unless turned off), this process's
    cache in front of one shared through the database; else this process's own cache."""
    if settings.redis_url:
        return RedisPageCache.connect(settings.redis_url)
    if settings.page_cache_postgres and not settings.is_sqlite:
        from core.page_cache_postgres import PostgresPageCache  # imports this module

        return TwoLevelPageCache(
            InProcessPageCache(), PostgresPageCache.connect(settings.database_url)
        )
    return InProcessPageCache()


def listen_for_revisions(pages: PageCache, database: Database, holder: object) -> None:
    """Let a two-level cache take its revisions from the bumps' notifications while
    ``holder`` (the app) lives; other caches answer their revisions themselves."""
    if isinstance(pages, TwoLevelPageCache) and not database.is_sqlite:
        pages.revisions.attach(database, holder)


def stop_listening_for_revisions(pages: PageCache, database: Database, holder: object) -> None:
    if isinstance(pages, TwoLevelPageCache):
        pages.revisions.detach(database, holder)


def close_page_cache(pages: PageCache) -> None:
    """Release what ``pages`` holds open (a stopping app): the shared tier's connections."""
    shared = pages.shared if isinstance(pages, TwoLevelPageCache) else pages
    close = getattr(shared, "close", None)
    if close is not None:
        close()
