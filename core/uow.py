"""Unit of work: one transaction per use case, rolled back unless the use case commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from core.db import SQLITE_BEGIN_OPTION


class UnitOfWork:
    """Base unit of work. Subclasses attach their repositories in ``_bind``.

    ``with uow:`` opens a write transaction: on SQLite it is ``BEGIN IMMEDIATE``, so concurrent
    writers queue on the busy timeout instead of failing when a read lock must be upgraded.
    ``with uow.reading():`` opens a plain (deferred) transaction for queries. PostgreSQL needs
    neither; repositories there take row locks (``SELECT … FOR UPDATE``) where the domain needs.
    """

    session: Session

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def __enter__(self) -> Self:
        return self._open(write=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self.session.close()

    @contextmanager
    def reading(self, *, snapshot: bool = False) -> Iterator[Self]:
        """A read-only transaction (never committed).

        ``snapshot=True`` makes every query see the same committed state (REPEATABLE READ on
        PostgreSQL; a SQLite read transaction already is one), for reports that read a table
        several times, such as ledger verification.
        """
        self._open(write=False)
        if snapshot and self.session.get_bind().dialect.name == "postgresql":
            self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            yield self
        finally:
            self.__exit__(None, None, None)

    def _open(self, *, write: bool) -> Self:
        self.session = self._sessions()
        if write:
            self.session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._bind(self.session)
        return self

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory this unit of work opens its transactions from."""
        return self._sessions

    def _bind(self, session: Session) -> None:
        """Attach repositories to the session; override in subclasses."""

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
