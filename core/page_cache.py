"""A cache of pre-serialized pages that every worker of a deployment can share.

Values are bytes under string keys. A key must name everything its value depends on (for a
leaderboard: the database, the contest, the committed tick and the page), so a value is never
wrong for its key and a newer state simply reads other keys: invalidation is a new version in
the key, never a delete. Entries also expire (``ttl_seconds``) so old versions do not pile up.

``revision(scope)`` / ``bump(scope)`` are a shared counter a writer raises when something a
cached page shows changes outside the key's version (a display name erased mid-tick); readers
put it in their keys too.

Two implementations: ``RedisPageCache`` (``PAPERLEAGUE_REDIS_URL``: shared by every worker and
host) and ``InProcessPageCache`` (the embedded default: one process's LRU). A cache that cannot
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

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 900


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


def page_cache_for(redis_url: str | None) -> PageCache:
    """Redis when a URL is configured, else this process's own cache."""
    if redis_url:
        return RedisPageCache.connect(redis_url)
    return InProcessPageCache()
