"""Persistence of review cases and the trade facts the detectors read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from core.db import Base, UtcDateTime, keyset_page
from core.integrity.store import PersonLinkRow
from engine.integrity.detectors import Finding, FindingKind, TradeFact
from engine.integrity.model import Case, CaseStatus
from engine.market.store import PriceBarRow
from engine.trading.store import AccountRow, FillRow

KINDS = ", ".join(f"'{k.value}'" for k in FindingKind)
STATUSES = ", ".join(f"'{s.value}'" for s in CaseStatus)


class IntegrityCaseRow(Base):
    __tablename__ = "integrity_cases"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KINDS})", name="known_kind"),
        CheckConstraint(f"status IN ({STATUSES})", name="known_status"),
        Index("ix_integrity_cases_group_key", "group_key", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    group_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contests.id"))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    members: Mapped[list[IntegrityCaseMemberRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IntegrityCaseMemberRow.user_id"
    )

    def to_case(self) -> Case:
        return Case(
            id=self.id,
            kind=FindingKind(self.kind),
            contest_id=self.contest_id,
            member_ids=tuple(m.user_id for m in self.members),
            score=self.score,
            evidence=self.evidence,
            status=CaseStatus(self.status),
            created_at=self.created_at,
            reason=self.reason,
            decided_by=self.decided_by,
            decided_at=self.decided_at,
        )


class IntegrityCaseMemberRow(Base):
    """An account of a case (a row per user, so erasing a user drops it)."""

    __tablename__ = "integrity_case_members"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("integrity_cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IntegrityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def serialize(self) -> None:
        """One scan at a time (SQLite's BEGIN IMMEDIATE already is)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("LOCK TABLE integrity_cases IN SHARE ROW EXCLUSIVE MODE"))

    def known(self, finding: Finding) -> bool:
        """Whether the finding's evidence was raised before, or its group has an open case."""
        stmt = select(IntegrityCaseRow.id).where(
            (IntegrityCaseRow.fingerprint == finding.fingerprint)
            | and_(
                IntegrityCaseRow.group_key == finding.group_key,
                IntegrityCaseRow.status == CaseStatus.OPEN.value,
            )
        )
        return self.session.scalar(stmt.limit(1)) is not None

    def add(self, finding: Finding, *, now: datetime) -> Case:
        row = IntegrityCaseRow(
            fingerprint=finding.fingerprint,
            group_key=finding.group_key,
            kind=finding.kind.value,
            contest_id=finding.contest_id,
            score=finding.score,
            evidence=dict(finding.evidence),
            status=CaseStatus.OPEN.value,
            created_at=now,
            members=[IntegrityCaseMemberRow(user_id=m) for m in finding.member_ids],
        )
        self.session.add(row)
        self.session.flush()
        return row.to_case()

    def get(self, case_id: int, *, lock: bool = False) -> IntegrityCaseRow | None:
        return self.session.get(IntegrityCaseRow, case_id, with_for_update=lock)

    def page(
        self, *, status: CaseStatus | None, after: int | None, limit: int
    ) -> tuple[list[Case], int | None]:
        """Cases newest first (by id), optionally of one status."""
        stmt = select(IntegrityCaseRow).options(selectinload(IntegrityCaseRow.members))
        if status is not None:
            stmt = stmt.where(IntegrityCaseRow.status == status.value)
        rows, last = keyset_page(
            self.session, stmt, key=IntegrityCaseRow.id, after=after, limit=limit, descending=True
        )
        return [row.to_case() for row in rows], last

    def cases_of(self, user_id: int, *, lock: bool = False) -> list[IntegrityCaseRow]:
        """Every case naming ``user_id``, oldest first."""
        stmt = (
            select(IntegrityCaseRow)
            .join(IntegrityCaseMemberRow, IntegrityCaseMemberRow.case_id == IntegrityCaseRow.id)
            .where(IntegrityCaseMemberRow.user_id == user_id)
            .order_by(IntegrityCaseRow.id)
        )
        return list(self.session.scalars(stmt.with_for_update() if lock else stmt))

    def linked_entrants(self, contest_id: int) -> dict[int, int]:
        """Person id of each entrant of the contest that an operator linked to a person."""
        stmt = (
            select(PersonLinkRow.user_id, PersonLinkRow.person_id)
            .join(AccountRow, AccountRow.member_id == PersonLinkRow.user_id)
            .where(AccountRow.contest_id == contest_id)
        )
        return {int(user): int(person) for user, person in self.session.execute(stmt)}

    def trade_facts(self, contest_ids: Sequence[int]) -> list[TradeFact]:
        """The fills of these contests with their member and the day's bar volume."""
        if not contest_ids:
            return []
        stmt = (
            select(
                FillRow.id,
                FillRow.contest_id,
                AccountRow.member_id,
                FillRow.symbol,
                FillRow.side,
                FillRow.qty,
                FillRow.day,
                PriceBarRow.volume,
            )
            .join(AccountRow, AccountRow.id == FillRow.account_id)
            .outerjoin(
                PriceBarRow,
                and_(PriceBarRow.symbol == FillRow.symbol, PriceBarRow.day == FillRow.day),
            )
            .where(FillRow.contest_id.in_(list(contest_ids)))
            .order_by(FillRow.id)
        )
        return [TradeFact(*row) for row in self.session.execute(stmt)]
