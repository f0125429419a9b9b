"""Persistence of settlement: a contest's frozen prize list and who has been paid."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.contests.store import PrizeRow


class PrizesRepository:
    """The prize rows of contests (``uow.prizes``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def prizes(self, contest_id: int) -> list[PrizeRow]:
        """The contest's prize list in payment order: contest lines, then PK lines."""
        stmt = (
            select(PrizeRow)
            .where(PrizeRow.contest_id == contest_id)
            .order_by(PrizeRow.kind, PrizeRow.line, PrizeRow.rank, PrizeRow.member_id)
        )
        return list(self.session.scalars(stmt))

    def has_prizes(self, contest_id: int) -> bool:
        stmt = select(PrizeRow.id).where(PrizeRow.contest_id == contest_id).limit(1)
        return self.session.scalar(stmt) is not None

    def unpaid_count(self, contest_id: int) -> int:
        stmt = select(func.count()).where(
            PrizeRow.contest_id == contest_id, PrizeRow.paid_at.is_(None)
        )
        return int(self.session.scalar(stmt) or 0)

    def add_all(self, rows: Sequence[PrizeRow]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def mark_paid(self, award_id: str, when: datetime) -> bool:
        """Set the prize's ``paid_at`` unless it is set; False when another run marked it first."""
        result = self.session.execute(
            update(PrizeRow)
            .where(PrizeRow.award_id == award_id, PrizeRow.paid_at.is_(None))
            .values(paid_at=when)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
