"""Persistence of Idempotency-Key records: the first response to a POST, kept for replays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    delete,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.db import SQLITE_BEGIN_OPTION, Base, UtcDateTime

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


class IdempotencyStore:
    """Each call is its own short transaction, separate from the request's own work."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claim(
        self, user_id: int, key: str, request: StoredRequest, *, now: datetime, lock_until: datetime
    ) -> bool:
        """Insert a pending record; False if the key already has one."""
        with self._write() as session:
            session.add(
                IdempotencyRow(
                    user_id=user_id,
                    key=key,
                    method=request.method,
                    path=request.path,
                    request_digest=request.request_digest,
                    field_digests=request.field_digests,
                    status=PENDING,
                    created_at=now,
                    locked_until=lock_until,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def get(self, user_id: int, key: str) -> KeyRecord | None:
        with self._sessions() as session:
            row = session.get(IdempotencyRow, (user_id, key))
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
        pk = (IdempotencyRow.user_id == user_id) & (IdempotencyRow.key == key)
        abandoned = (IdempotencyRow.status == PENDING) & (IdempotencyRow.locked_until < now)
        expired = IdempotencyRow.created_at < stale_before
        with self._write() as session:
            result = session.execute(
                update(IdempotencyRow)
                .where(pk & (abandoned | expired))
                .values(
                    method=request.method,
                    path=request.path,
                    request_digest=request.request_digest,
                    field_digests=request.field_digests,
                    status=PENDING,
                    response_status=None,
                    response_headers=None,
                    response_body=None,
                    created_at=now,
                    locked_until=lock_until,
                )
            )
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def complete(self, user_id: int, key: str, response: StoredResponse) -> None:
        with self._write() as session:
            session.execute(
                update(IdempotencyRow)
                .where(IdempotencyRow.user_id == user_id, IdempotencyRow.key == key)
                .values(
                    status=COMPLETED,
                    response_status=response.status,
                    response_headers=response.headers,
                    response_body=response.body,
                )
            )
            session.commit()

    def release(self, user_id: int, key: str) -> None:
        """Forget a pending key whose request failed on the server side, so it can be retried."""
        with self._write() as session:
            session.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.user_id == user_id,
                    IdempotencyRow.key == key,
                    IdempotencyRow.status == PENDING,
                )
            )
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

    def _write(self) -> Session:
        session = self._sessions()
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        return session


def _record(row: IdempotencyRow) -> KeyRecord:
    response: StoredResponse | None = None
    if row.status == COMPLETED:
        assert row.response_status is not None and row.response_body is not None
        response = StoredResponse(
            row.response_status, row.response_headers or [], row.response_body
        )
    return KeyRecord(
        request=StoredRequest(row.method, row.path, row.request_digest, dict(row.field_digests)),
        status=row.status,
        response=response,
        created_at=row.created_at,
        locked_until=row.locked_until,
    )
