"""Database engine and sessions for SQLite (embedded default) and PostgreSQL (system of record).

SQLite is set up for real use: foreign keys on, WAL, a busy timeout, and pysqlite's own
transaction handling replaced by explicit ``BEGIN`` so that write transactions can be
``BEGIN IMMEDIATE`` (they take the write lock up front instead of failing on upgrade).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    Select,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.clock import as_utc

# Stable constraint names: Alembic needs them to drop constraints, SQLite batch mode too.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BEGIN_OPTION = "sqlite_begin"
# A pooled PostgreSQL connection idle longer than this is pinged before use (see make_engine).
IDLE_PING_SECONDS = 1.0
_RETURNED_AT = "paperleague_returned_at"  # key in a pooled connection's info: monotonic seconds


class Base(DeclarativeBase):
    """Declarative base of every mapped table; its metadata is what Alembic compares against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Amount(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(precision, scale) on PostgreSQL, scaled integer on SQLite.

    SQLite has no decimal type (NUMERIC columns hold floats), so there the value is stored as
    an integer count of 10^-scale units: exact, comparable and summable in SQL. A value with
    more decimal places than ``scale`` is refused rather than rounded.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value)
        if exact != exact.quantize(self._quantum):
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value)


def make_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = 10_000,
    echo: bool = False,
    scratch: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> Engine:
    """An engine for ``url`` with the per-dialect settings PaperLeague relies on.

    ``scratch``: a throwaway SQLite file (the season simulation's own) is written without
    syncing to disk. A crash of the process still loses nothing committed (WAL); a crash of
    the machine may lose the file, which the next run makes afresh.

    ``idle_ping_seconds``: a PostgreSQL connection that sat in the pool longer than this is
    pinged before it is handed out, and replaced if it is dead (``_ping_after_idle``).
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": sqlite_busy_timeout_ms / 1000},
        )
        _configure_sqlite(
            engine, sqlite_busy_timeout_ms, synchronous="OFF" if scratch else "NORMAL"
        )
        return engine
    # Up to 30 connections per process, all kept once opened: a connection beyond pool_size
    # (max_overflow) is closed when returned, and each request past the 10th in flight then
    # paid a new PostgreSQL backend (bench/README.md, API under load).
    # LIFO: the connections in use stay the few most recently returned, so under load none
    # sits idle long enough to need a ping; the surplus ages at the bottom of the stack.
    engine = create_engine(url, echo=echo, pool_size=30, max_overflow=0, pool_use_lifo=True)
    _ping_after_idle(engine, idle_ping_seconds)
    return engine


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle longer than ``idle_seconds``.

    ``pool_pre_ping`` pings on every checkout: one round trip per transaction, a sixth of a
    single ledger transfer's. A connection handed back a moment ago was alive a moment ago, so
    a busy pool skips the ping; one idle for longer (a server restart, a failover, an idle
    timeout in a proxy may have closed it) is pinged, and a dead one is replaced through
    ``DisconnectionError``, which makes the pool reconnect and try again: the caller sees no
    error. What the ping cannot catch (a connection dying inside the threshold) is what
    pre-ping could not catch either (one dying between ping and use).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at <= idle_seconds:
            return  # just connected, or back in the pool only a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as failure:
            raise DisconnectionError(f"pooled connection is dead: {failure}") from failure
        if not alive:
            raise DisconnectionError("pooled connection did not answer its ping")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, *, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@dataclass
class Database:
    """An engine and its session factory: what a process needs to talk to its database."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def connect(
        cls, url: str, *, sqlite_busy_timeout_ms: int = 10_000, scratch: bool = False
    ) -> Database:
        engine = make_engine(url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms, scratch=scratch)
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def one_read_session(sessions: sessionmaker[Session]) -> Session:
    """A session for a single read statement: on PostgreSQL in autocommit, so the read is one
    round trip, not BEGIN, it and ROLLBACK (one statement sees one snapshot either way).
    Elsewhere an ordinary session."""
    session = sessions()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


def postgres_admin_connection(url: str) -> Any:
    """An autocommit psycopg connection to ``url``'s server, for CREATE / DROP DATABASE
    (test and benchmark databases)."""
    import psycopg

    parts = make_url(url)
    return psycopg.connect(
        host=parts.host or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=parts.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


def keyset_page(
    session: Session,
    stmt: Select[Any],
    *,
    key: InstrumentedAttribute[Any],
    after: Any | None,
    limit: int,
    descending: bool = False,
) -> tuple[Sequence[Any], Any | None]:
    """One page of ``stmt`` ordered by the unique ``key``, starting after ``after``.

    Returns the rows and the key of the last row when another page follows, else ``None``.
    ``stmt`` selects one mapped entity; ``key`` is one of its unique attributes.
    """
    if after is not None:
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = session.scalars(stmt).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, getattr(rows[-1], key.key)
