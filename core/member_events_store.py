"""Persistence of the member event feed: ``member_events`` rows, written in the transaction of
the fact they report (one executemany per batch), and read by cursor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from core.member_events import MEMBER_EVENT_KINDS, EventPayload, MemberEvent
from core.member_events_wakeup import announce


class MemberEventRow(Base):
    """One event of one member's feed; ``id`` is the stream cursor (never reused)."""

    __tablename__ = "member_events"
    __table_args__ = (
        Index("ix_member_events_user_id_id", "user_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_event(self) -> MemberEvent:
        return MemberEvent(self.id, self.user_id, self.kind, self.payload, self.created_at)


MEMBER_EVENTS = cast(Table, MemberEventRow.__table__)


def record_account_events(
    session: Session,
    accounts_table: Table,
    events: Sequence[tuple[int, str, EventPayload]],
    *,
    now: datetime,
) -> None:
    """Add ``(account id, kind, payload)`` events for the accounts' members, in ``session``'s
    open transaction, with one executemany ``INSERT … SELECT`` (the member id is the account
    row's ``member_id``, so the caller need not read it), and announce them to the members'
    live streams on commit (``core.member_events_wakeup``: one ``pg_notify`` on PostgreSQL)."""
    if not events:
        return
    for _, kind, _ in events:
        if kind not in MEMBER_EVENT_KINDS:
            raise ValueError(f"unknown member event kind {kind!r}")
    source = select(
        accounts_table.c.member_id,
        bindparam("kind", type_=String(40)),
        bindparam("payload", type_=JSON()),
        bindparam("created_at", type_=UtcDateTime()),
    ).where(accounts_table.c.id == bindparam("account"))
    stmt = insert(MEMBER_EVENTS).from_select(["user_id", "kind", "payload", "created_at"], source)
    session.connection().execute(
        stmt,
        [
            {"account": account, "kind": kind, "payload": payload, "created_at": now}
            for account, kind, payload in events
        ],
    )
    announce(session, accounts_table, (account for account, _, _ in events))


class MemberEventsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def after(self, user_id: int, after: int, *, limit: int) -> list[MemberEvent]:
        """The member's events with ``id > after``, oldest first, at most ``limit``."""
        stmt = (
            select(MemberEventRow)
            .where(MemberEventRow.user_id == user_id, MemberEventRow.id > after)
            .order_by(MemberEventRow.id)
            .limit(limit)
        )
        return [row.to_event() for row in self.session.scalars(stmt)]

    def last_id(self, user_id: int) -> int:
        """The member's newest event id (0 for none): where a fresh stream starts."""
        stmt = select(func.max(MemberEventRow.id)).where(MemberEventRow.user_id == user_id)
        return int(self.session.scalar(stmt) or 0)
