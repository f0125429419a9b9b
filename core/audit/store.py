"""Mappings of the audit log (its entries, head and retention cutoff) and its repository.

JSON fields are stored as canonical JSON text, so an entry's hash recomputes from exactly what
is stored (a JSON column type may reorder keys or change spacing). Entries are never updated;
they are deleted only by the retention purge, below the cutoff: the ORM refuses both here and
database triggers refuse both below (migration 0012).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    delete,
    event,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.audit.model import AuditEntry, AuditSeq, Retention
from core.db import Base, UtcDateTime, keyset_page
from core.hashchain import GENESIS_HASH, canonical_json


class AuditEntryRow(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_actor", "actor_id", "seq"),
        Index("ix_audit_entries_action", "action", "seq"),
        Index("ix_audit_entries_subject", "subject", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    # No foreign key: the log outlives the users it names (ids are never reused).
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    request: Mapped[str] = mapped_column(Text)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def to_entry(self) -> AuditEntry:
        return AuditEntry(
            seq=self.seq,
            at=self.at,
            actor_id=self.actor_id,
            action=self.action,
            subject=self.subject,
            request=json.loads(self.request),
            before=json.loads(self.before),
            after=json.loads(self.after),
            prev_hash=self.prev_hash,
            hash=self.hash,
        )

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryRow:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            subject=entry.subject,
            request=canonical_json(entry.request),
            before=canonical_json(entry.before),
            after=canonical_json(entry.after),
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


@event.listens_for(AuditEntryRow, "before_update")
@event.listens_for(AuditEntryRow, "before_delete")
def _append_only(*_: object) -> None:
    raise RuntimeError("audit entries are append-only; only the retention purge deletes them")


class AuditHeadRow(Base):
    """The end of the chain; one row, locked by every append."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditRetentionRow(Base):
    """The purge cutoff; one row. Entries with ``seq < kept_from`` may be deleted (the trigger
    allows nothing else) and ``kept_from`` never moves back (another trigger)."""

    __tablename__ = "audit_retention"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kept_from: Mapped[int] = mapped_column(BigInteger)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    purged_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def to_retention(self) -> Retention:
        return Retention(
            kept_from=self.kept_from,
            anchor_hash=self.anchor_hash,
            purged_before=self.purged_before,
            purged_at=self.purged_at,
        )


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """Search filters; None matches anything. ``since`` inclusive, ``until`` exclusive (UTC)."""

    actor_id: int | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("contest." matches contest.*)
    subject: str | None = None  # exact
    since: datetime | None = None
    until: datetime | None = None


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_head(self) -> AuditHeadRow:
        head = self.session.scalars(
            select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
        ).one_or_none()
        if head is None:  # migrations insert it; a bare test schema may not
            head = AuditHeadRow(id=1, last_seq=0, last_hash=GENESIS_HASH)
            self.session.add(head)
        return head

    def head(self) -> tuple[AuditSeq, str]:
        head = self.session.get(AuditHeadRow, 1)
        return (0, GENESIS_HASH) if head is None else (head.last_seq, head.last_hash)

    def add(self, entry: AuditEntry) -> None:
        self.session.add(AuditEntryRow.of(entry))

    def retention(self, *, lock: bool = False) -> Retention:
        stmt = select(AuditRetentionRow).where(AuditRetentionRow.id == 1)
        row = self.session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
        return Retention() if row is None else row.to_retention()

    def set_retention(self, retention: Retention) -> None:
        row = self.session.get(AuditRetentionRow, 1)
        if row is None:
            row = AuditRetentionRow(id=1)
            self.session.add(row)
        row.kept_from = retention.kept_from
        row.anchor_hash = retention.anchor_hash
        row.purged_before = retention.purged_before
        row.purged_at = retention.purged_at
        self.session.flush()

    def first_at_or_after(self, moment: datetime) -> AuditEntry | None:
        """The oldest entry made at ``moment`` or later."""
        row = self.session.scalars(
            select(AuditEntryRow).where(AuditEntryRow.at >= moment).order_by(AuditEntryRow.seq)
        ).first()
        return None if row is None else row.to_entry()

    def hash_of(self, seq: AuditSeq) -> str | None:
        return self.session.scalar(select(AuditEntryRow.hash).where(AuditEntryRow.seq == seq))

    def delete_before(self, seq: AuditSeq) -> int:
        """Delete the entries before ``seq`` (the trigger allows it below the cutoff only)."""
        result: Any = self.session.execute(delete(AuditEntryRow).where(AuditEntryRow.seq < seq))
        return int(result.rowcount)

    def all_entries(self, *, batch: int = 2000) -> Iterable[AuditEntry]:
        """Every entry in chain order, streamed in batches."""
        after = 0
        while True:
            rows = self.session.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.seq > after)
                .order_by(AuditEntryRow.seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            yield from (row.to_entry() for row in rows)
            after = rows[-1].seq
            self.session.expunge_all()  # a long chain must not pile up in the identity map

    def search(
        self, filters: AuditFilters, *, before: AuditSeq | None, limit: int
    ) -> tuple[Sequence[AuditEntry], AuditSeq | None]:
        """One page of matching entries, newest first, and the seq to continue before."""
        stmt = select(AuditEntryRow)
        if filters.actor_id is not None:
            stmt = stmt.where(AuditEntryRow.actor_id == filters.actor_id)
        if filters.action is not None:
            if filters.action.endswith("."):
                stmt = stmt.where(AuditEntryRow.action.startswith(filters.action, autoescape=True))
            else:
                stmt = stmt.where(AuditEntryRow.action == filters.action)
        if filters.subject is not None:
            stmt = stmt.where(AuditEntryRow.subject == filters.subject)
        if filters.since is not None:
            stmt = stmt.where(AuditEntryRow.at >= filters.since)
        if filters.until is not None:
            stmt = stmt.where(AuditEntryRow.at < filters.until)
        rows, last = keyset_page(
            self.session, stmt, key=AuditEntryRow.seq, after=before, limit=limit, descending=True
        )
        return [row.to_entry() for row in rows], last
