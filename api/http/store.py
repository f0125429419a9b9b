"""Persistence of Idempotency-Key records: the first response to a POST, kept for replays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    RowMapping,
    String,
    Table,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.db import SQLITE_BEGIN_OPTION, Base, UtcDateTime, one_read_session
from core.group_commit import DEFAULT_MAX_BATCH, GroupCommit

PENDING, COMPLETED = "pending", "completed"


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'completed')", name="known_status"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(2048))
    request_digest: Mapped[str] = mapped_column(String(64))
    field_digests: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime())


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """What identifies a request for the key's owner; compared on every replay."""

    method: str
    path: str
    request_digest: str
    field_digests: dict[str, str]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: list[list[str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class KeyRecord:
    request: StoredRequest
    status: str
    response: StoredResponse | None
    created_at: datetime
    locked_until: datetime


Claim = tuple[int, str, StoredRequest, datetime, datetime]  # user, key, request, now, lock_until
Completion = tuple[int, str, StoredResponse]  # user, key, response

CLAIMS, COMPLETIONS = "claims", "completions"  # each kind is one lane of its combiner
_KEYS = cast(Table, IdempotencyRow.__table__)
_PK = ("user_id", "key")


class IdempotencyStore:
    """Each call is its own short transaction, separate from the request's own work.

    Every idempotent POST claims its key before the route and completes it after, so these two
    are the store's hot path: each is one Core statement (a claim is an insert that does
    nothing on conflict, never an exception), and concurrent claims, or completes, of one
    process are joined into one transaction per batch (``core.group_commit``; ``group_commit``
    false: every call its own transaction).
    """

    def __init__(self, sessions: sessionmaker[Session], *, group_commit: bool = True) -> None:
        self._sessions = sessions
        # Public so that a test can hold a batch open while others queue behind it.
        self.claims: GroupCommit[str, Claim, bool] = GroupCommit(
            self._claim_batch, enabled=group_commit
        )
        self.completions: GroupCommit[str, Completion, None] = GroupCommit(
            self._complete_batch, enabled=group_commit
        )

    def claim(
        self, user_id: int, key: str, request: StoredRequest, *, now: datetime, lock_until: datetime
    ) -> bool:
        """Insert a pending record; False if the key already has one (or its user is gone)."""
        return self.claims.submit(CLAIMS, (user_id, key, request, now, lock_until))

    async def claim_async(
        self, user_id: int, key: str, request: StoredRequest, *, now: datetime, lock_until: datetime
    ) -> bool:
        """``claim`` awaited: the request holds no thread while its claim's batch runs."""
        return await self.claims.submit_async(CLAIMS, (user_id, key, request, now, lock_until))

    def claim_each(self, claims: Sequence[Claim]) -> list[bool]:
        """Claim several keys in one transaction: the outcome of each, as if claimed one after
        another in this order (of two claims of one key, the first wins)."""
        first: dict[tuple[int, str], int] = {}  # each key's first claim, by position
        for position, (user_id, key, *_) in enumerate(claims):
            first.setdefault((user_id, key), position)
        # Up to a combiner's batch, SQLAlchemy sends the rows as one multi-row INSERT.
        with self._write(one_statement=len(first) <= DEFAULT_MAX_BATCH) as session:
            # In key order, so that batches of two workers cannot wait on each other's rows.
            distinct = [claims[first[pk]] for pk in sorted(first)]
            claimed = self._insert_new(session, distinct)
            session.commit()
        return [
            (user_id, key) in claimed and first[(user_id, key)] == position
            for position, (user_id, key, *_) in enumerate(claims)
        ]

    def get(self, user_id: int, key: str) -> KeyRecord | None:
        with self._read() as session:
            row = session.execute(select(_KEYS).where(_is(user_id, key))).mappings().first()
            return None if row is None else _record(row)

    def take_over(
        self,
        user_id: int,
        key: str,
        request: StoredRequest,
        *,
        stale_before: datetime,
        now: datetime,
        lock_until: datetime,
    ) -> bool:
        """Reclaim a record whose holder died (pending past its lock) or that has expired.

        Compare-and-set: of several callers, exactly one wins.
        """
        columns = _KEYS.c
        abandoned = (columns.status == PENDING) & (columns.locked_until < now)
        expired = columns.created_at < stale_before
        with self._write(one_statement=True) as session:
            result = session.execute(
                update(_KEYS)
                .where(_is(user_id, key) & (abandoned | expired))
                .values(
                    **_pending(request, now=now, lock_until=lock_until),
                    response_status=None,
                    response_headers=None,
                    response_body=None,
                )
            )
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def complete(self, user_id: int, key: str, response: StoredResponse) -> None:
        self.completions.submit(COMPLETIONS, (user_id, key, response))

    async def complete_async(self, user_id: int, key: str, response: StoredResponse) -> None:
        """``complete`` awaited, like ``claim_async``."""
        await self.completions.submit_async(COMPLETIONS, (user_id, key, response))

    def complete_each(self, completions: Sequence[Completion]) -> None:
        """Store several responses in one transaction (one statement, executed per row)."""
        columns = _KEYS.c
        statement = (
            update(_KEYS)
            .where(columns.user_id == bindparam("u"), columns.key == bindparam("k"))
            .values(
                status=COMPLETED,
                response_status=bindparam("s"),
                response_headers=bindparam("h", type_=columns.response_headers.type),
                response_body=bindparam("b", type_=columns.response_body.type),
            )
        )
        rows = [
            {"u": user_id, "k": key, "s": r.status, "h": r.headers, "b": r.body}
            for user_id, key, r in completions
        ]
        with self._write(one_statement=len(rows) == 1) as session:
            session.connection().execute(statement, rows)
            session.commit()

    def release(self, user_id: int, key: str) -> None:
        """Forget a pending key whose request failed on the server side, so it can be retried."""
        with self._write(one_statement=True) as session:
            session.execute(delete(_KEYS).where(_is(user_id, key), _KEYS.c.status == PENDING))
            session.commit()

    def purge(self, *, created_before: datetime) -> int:
        """Delete completed records past retention; returns how many."""
        with self._write() as session:
            result = session.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.status == COMPLETED, IdempotencyRow.created_at < created_before
                )
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def keys_of(self, user_id: int) -> list[str]:
        with self._sessions() as session:
            return list(
                session.scalars(select(IdempotencyRow.key).where(IdempotencyRow.user_id == user_id))
            )

    def _claim_batch(self, _: str, claims: Sequence[Claim]) -> Sequence[bool | BaseException]:
        try:
            return self.claim_each(claims)
        except IntegrityError:
            if len(claims) > 1:
                raise  # the combiner retries each alone: only the orphan's claim fails
            return [False]  # its user was deleted: no record, so the middleware passes it through

    def _complete_batch(
        self, _: str, completions: Sequence[Completion]
    ) -> Sequence[None | BaseException]:
        self.complete_each(completions)
        return [None] * len(completions)

    @staticmethod
    def _insert_new(session: Session, claims: Sequence[Claim]) -> set[tuple[int, str]]:
        """Insert pending records for distinct keys; the keys that had none (now claimed)."""
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = [
            {"user_id": user_id, "key": key, **_pending(request, now=now, lock_until=lock_until)}
            for user_id, key, request, now, lock_until in claims
        ]
        # Values as parameters, not in the statement, so that its compiled form is cached; many
        # rows still go as one multi-row INSERT (SQLAlchemy's "insertmanyvalues").
        statement = (
            insert(_KEYS)
            .on_conflict_do_nothing(index_elements=list(_PK))
            .returning(_KEYS.c.user_id, _KEYS.c.key)
        )
        return {(row.user_id, row.key) for row in session.execute(statement, values)}

    def _write(self, *, one_statement: bool = False) -> Session:
        """A session for writes; ``one_statement``: its work is a single statement, which on
        PostgreSQL then runs in autocommit (one round trip instead of BEGIN, it, COMMIT)."""
        session = self._sessions()
        options: dict[str, str] = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}
        if one_statement and session.get_bind().dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        session.connection(execution_options=options)
        return session

    def _read(self) -> Session:
        return one_read_session(self._sessions)


def _is(user_id: int, key: str) -> ColumnElement[bool]:
    return (_KEYS.c.user_id == user_id) & (_KEYS.c.key == key)


def _pending(request: StoredRequest, *, now: datetime, lock_until: datetime) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "request_digest": request.request_digest,
        "field_digests": request.field_digests,
        "status": PENDING,
        "created_at": now,
        "locked_until": lock_until,
    }


def _record(row: RowMapping) -> KeyRecord:
    response: StoredResponse | None = None
    if row["status"] == COMPLETED:
        assert row["response_status"] is not None and row["response_body"] is not None
        response = StoredResponse(
            row["response_status"], row["response_headers"] or [], bytes(row["response_body"])
        )
    request = StoredRequest(
        row["method"], row["path"], row["request_digest"], dict(row["field_digests"])
    )
    return KeyRecord(
        request=request,
        status=row["status"],
        response=response,
        created_at=row["created_at"],
        locked_until=row["locked_until"],
    )
