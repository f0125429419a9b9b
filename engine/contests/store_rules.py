"""Persistence of contests' rules snapshots: one row per contest, written when its rules lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from engine.contests.rules_model import RulesSnapshot
from engine.trading.store import ContestRow


class ContestRulesRow(Base):
    __tablename__ = "contest_rules"

    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contests.id"), primary_key=True, autoincrement=False
    )
    document: Mapped[str] = mapped_column(Text)  # canonical JSON (engine.contests.rules)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    locked_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_snapshot(self) -> RulesSnapshot:
        return RulesSnapshot(
            contest_id=self.contest_id,
            document=self.document,
            sha256=self.sha256,
            locked_at=self.locked_at,
        )


class RulesRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, snapshot: RulesSnapshot) -> None:
        self.session.add(
            ContestRulesRow(
                contest_id=snapshot.contest_id,
                document=snapshot.document,
                sha256=snapshot.sha256,
                locked_at=snapshot.locked_at,
            )
        )
        self.session.flush()

    def get(self, contest_id: int) -> RulesSnapshot | None:
        row = self.session.get(ContestRulesRow, contest_id)
        return None if row is None else row.to_snapshot()

    def settled_contest_ids(self, *, after: int = 0, limit: int = 1000) -> Sequence[int]:
        """Contests with a rules snapshot whose settlement is stamped, by id."""
        return self.session.scalars(
            select(ContestRulesRow.contest_id)
            .join(ContestRow, ContestRow.id == ContestRulesRow.contest_id)
            .where(ContestRow.settled_at.is_not(None), ContestRulesRow.contest_id > after)
            .order_by(ContestRulesRow.contest_id)
            .limit(limit)
        ).all()

    def contest_ids(self, *, after: int = 0, limit: int = 1000) -> Sequence[int]:
        """Contests with a rules snapshot, by id."""
        return self.session.scalars(
            select(ContestRulesRow.contest_id)
            .where(ContestRulesRow.contest_id > after)
            .order_by(ContestRulesRow.contest_id)
            .limit(limit)
        ).all()
