"""Persistence of the member event feed: ``member_events`` rows, written in the transaction of
the fact they report (one executemany per batch), and read by cursor up to the commit fence;
a contest's broadcasts (one row per contest fact) and the minute live rankings they point at
(``live_rankings``: one row per contest and minute bar, the member ids in rank order packed as
little-endian int64, the last ``LIVE_BARS_KEPT`` bars kept)."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from core.member_events import (
    BROADCAST_KINDS,
    MEMBER_EVENT_KINDS,
    CommitFence,
    EventPayload,
    MemberEvent,
)
from core.member_events_wakeup import announce, announce_everyone

LIVE_BARS_KEPT = 5  # minute rankings kept per contest: the stream reads the newest two


class MemberEventRow(Base):
    """One event of one member's feed; ``id`` is the stream cursor (never reused)."""

    __tablename__ = "member_events"
    __table_args__ = (
        Index("ix_member_events_user_id_id", "user_id", "id"),
        Index("ix_member_events_contest_id_id", "contest_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: a broadcast
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contests.id"))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_event(self) -> MemberEvent:
        return MemberEvent(
            self.id, self.user_id, self.kind, self.payload, self.created_at, self.contest_id
        )


class LiveRankingRow(Base):
    """A minute contest's live ranking at one minute bar: member ids, best equity first."""

    __tablename__ = "live_rankings"

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    bar_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    member_ids: Mapped[bytes] = mapped_column(LargeBinary)


LIVE_RANKINGS_TABLE = cast(Table, LiveRankingRow.__table__)


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


def record_broadcast(
    session: Session, contest_id: int, kind: str, payload: EventPayload, *, now: datetime
) -> None:
    """Add one broadcast of contest ``contest_id`` in ``session``'s open transaction (its
    members' streams personalize it)."""
    if kind not in BROADCAST_KINDS:
        raise ValueError(f"unknown broadcast kind {kind!r}")
    session.connection().execute(
        insert(MEMBER_EVENTS).values(
            contest_id=contest_id, kind=kind, payload=payload, created_at=now
        )
    )
    announce_everyone(session)  # the contest's members: the streams personalize and filter


def pack_ids(ids: Sequence[int]) -> bytes:
    """Ids as little-endian int64, 8 bytes each (100,000 ids: 800 kB, packed in C)."""
    packed = array("q", ids)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_ids(packed: bytes) -> list[int]:
    ids = array("q")
    ids.frombytes(packed)
    if sys.byteorder == "big":
        ids.byteswap()
    return ids.tolist()


def record_live_ranking(
    session: Session, contest_id: int, bar_start: datetime, member_ids: Sequence[int]
) -> None:
    """Store the minute's ranking (member ids, best first) and drop all but the contest's
    newest ``LIVE_BARS_KEPT`` bars, in ``session``'s open transaction."""
    rows = LIVE_RANKINGS_TABLE
    connection = session.connection()
    connection.execute(
        insert(rows).values(
            contest_id=contest_id, bar_start=bar_start, member_ids=pack_ids(member_ids)
        )
    )
    oldest_kept = (
        select(LiveRankingRow.bar_start)
        .where(LiveRankingRow.contest_id == contest_id)
        .order_by(LiveRankingRow.bar_start.desc())
        .offset(LIVE_BARS_KEPT - 1)
        .limit(1)
        .scalar_subquery()
    )
    connection.execute(
        delete(rows).where(
            LiveRankingRow.contest_id == contest_id, LiveRankingRow.bar_start < oldest_kept
        )
    )


class MemberEventsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def after(
        self, user_id: int, after: int, *, limit: int, upto: int | None = None
    ) -> list[MemberEvent]:
        """The member's own events and the broadcasts of the contests the member has an
        account in, with ``after < id ≤ upto`` (the commit fence; None: no bound), oldest
        first, at most ``limit``."""
        accounts = table("trading_accounts", column("contest_id"), column("member_id"))
        contests = select(accounts.c.contest_id).where(accounts.c.member_id == user_id)
        stmt = (
            select(MemberEventRow)
            .where(
                or_(
                    MemberEventRow.user_id == user_id,
                    MemberEventRow.contest_id.in_(contests) & MemberEventRow.user_id.is_(None),
                ),
                MemberEventRow.id > after,
            )
            .order_by(MemberEventRow.id)
            .limit(limit)
        )
        if upto is not None:
            stmt = stmt.where(MemberEventRow.id <= upto)
        return [row.to_event() for row in self.session.scalars(stmt)]

    def last_id(self, user_id: int) -> int:
        """The member's newest event id (0 for none)."""
        stmt = select(func.max(MemberEventRow.id)).where(MemberEventRow.user_id == user_id)
        return int(self.session.scalar(stmt) or 0)

    def fence(self, fence: CommitFence) -> int | None:
        """Advance ``fence`` and return it; ``None`` where ids are drawn in commit order (SQLite
        lets one writer at a time hold the database, from its first write to its commit).
        On PostgreSQL, ``pg_stat_activity.backend_xid`` shows every session's xid to any role,
        and only this database's sessions count."""
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        drawn = self.session.scalar(
            text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM member_events_id_seq")
        )
        # A second statement, after the sequence was read: the database's writers in flight.
        running = self.session.scalars(
            text(
                "SELECT backend_xid::text::bigint FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_xid IS NOT NULL"
            )
        )
        return fence.observe(int(drawn or 0), frozenset(int(x) for x in running))

    def newest_id(self) -> int:
        """The newest id of the whole feed (0 for none)."""
        return int(self.session.scalar(select(func.max(MemberEventRow.id))) or 0)

    def live_ranking(self, contest_id: int, bar_start: datetime) -> list[int] | None:
        packed = self.session.scalar(
            select(LiveRankingRow.member_ids).where(
                LiveRankingRow.contest_id == contest_id, LiveRankingRow.bar_start == bar_start
            )
        )
        return None if packed is None else unpack_ids(packed)
