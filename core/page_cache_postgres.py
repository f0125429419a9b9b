"""The page cache shared through PostgreSQL, for deployments with several API workers and no
Redis (issue 17): without it each worker computes every leaderboard page itself.

Values live in the UNLOGGED table ``page_cache_entries`` (core.page_cache_store), revision
counters in ``page_cache_revisions``; expiry is the database's clock (``now()``), so workers
on hosts whose clocks disagree still agree on what has expired. ``get_many`` is one statement
(the revision and the keys' live values); ``put_many`` is one upsert, followed in the same
transaction by an opportunistic purge of a bounded number of expired rows (locked rows
skipped, so purges never wait on each other or on writers): each put removes at least as many
expired rows as it writes, so the table stays as large as what is live plus one purge's batch,
without a job in the worker.

The cache has its own small connection pool (``connect``): a reader asks it from inside its
request's transaction, so sharing the request pool could leave every request holding one
connection and waiting for a second. Its statements time out quickly, and a pool that cannot
lend a connection within ``POOL_TIMEOUT_SECONDS`` is a miss, like any other error (the cache is
never needed for correctness), except in ``bump``, which raises, as ``RedisPageCache`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine, create_engine, text

from core.page_cache import DEFAULT_TTL_SECONDS

log = logging.getLogger(__name__)

POOL_SIZE = 8
POOL_TIMEOUT_SECONDS = 1.0
STATEMENT_TIMEOUT_MS = 2_000
PURGE_AT_LEAST = 64  # expired rows one put may delete, besides one per row it writes

_GET = text(
    """
    SELECT NULL::text AS key, NULL::bytea AS value,
           (SELECT revision FROM page_cache_revisions WHERE scope = :scope) AS revision
    UNION ALL
    SELECT key, value, NULL FROM page_cache_entries
    WHERE key = ANY(CAST(:keys AS text[])) AND expires_at > now()
    """
)
_REVISION = text("SELECT revision FROM page_cache_revisions WHERE scope = :scope")
_PUT = text(
    """
    INSERT INTO page_cache_entries (key, value, expires_at)
    SELECT k, v, now() + make_interval(secs => :ttl)
    FROM unnest(CAST(:keys AS text[]), CAST(:vals AS bytea[])) AS t(k, v)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
    """
)
_PURGE = text(
    """
    DELETE FROM page_cache_entries WHERE key IN (
        SELECT key FROM page_cache_entries WHERE expires_at <= now()
        LIMIT :n FOR UPDATE SKIP LOCKED)
    """
)
_BUMP = text(
    """
    INSERT INTO page_cache_revisions (scope, revision) VALUES (:scope, 1)
    ON CONFLICT (scope) DO UPDATE SET revision = page_cache_revisions.revision + 1
    RETURNING revision
    """
)


class PostgresPageCache:
    """Values in the database's ``page_cache_entries``: one cache for every worker on it."""

    def __init__(self, engine: Engine, *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self._engine = engine
        self._ttl = ttl_seconds

    @classmethod
    def connect(cls, url: str, *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> PostgresPageCache:
        """A cache on the database at ``url`` with a pool of its own (see the module)."""
        engine = create_engine(
            url,
            pool_size=POOL_SIZE,
            max_overflow=0,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            # No ping per checkout (a round trip per read): a dropped connection fails one
            # statement, a miss, and is replaced.
            pool_pre_ping=False,
            connect_args={"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"},
        )
        return cls(engine, ttl_seconds=ttl_seconds)

    @property
    def engine(self) -> Engine:
        return self._engine

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        try:
            with self._engine.connect() as connection:
                if not keys:  # the two-level cache's read when every key was found locally
                    counter = connection.execute(_REVISION, {"scope": scope}).scalar()
                    return (0 if counter is None else int(counter)), []
                rows = connection.execute(_GET, {"scope": scope, "keys": list(keys)}).all()
        except Exception:  # noqa: BLE001 - a cache that cannot answer misses
            log.warning("page cache: PostgreSQL read failed", exc_info=True)
            return -1, [None] * len(keys)  # -1: a revision no stored value carries
        revision = 0
        found: dict[str, bytes] = {}
        for key, value, counter in rows:
            if key is None:
                revision = 0 if counter is None else int(counter)
            else:
                found[key] = bytes(value)
        return revision, [found.get(key) for key in keys]

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        if not items:
            return
        latest = dict(items)  # one row per key: an upsert may not touch a row twice
        keys = sorted(latest)  # one lock order for every writer: no deadlocks between puts
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    _PUT, {"keys": keys, "vals": [latest[k] for k in keys], "ttl": self._ttl}
                )
                connection.execute(_PURGE, {"n": max(PURGE_AT_LEAST, 2 * len(keys))})
        except Exception:  # noqa: BLE001 - a value not kept is computed again
            log.warning("page cache: PostgreSQL write failed", exc_info=True)

    def revision(self, scope: str) -> int:
        return self.get_many(scope, [])[0]

    def bump(self, scope: str) -> int:
        with self._engine.begin() as connection:
            return int(connection.execute(_BUMP, {"scope": scope}).scalar_one())

    def clear(self) -> None:
        """Forget every value. The revisions stay: counting again from 0 would make values
        stamped before a bump (in some worker's own cache) current again."""
        with self._engine.begin() as connection:
            connection.execute(text("DELETE FROM page_cache_entries"))

    def close(self) -> None:
        """Close the pool's connections (a stopping app)."""
        self._engine.dispose()
