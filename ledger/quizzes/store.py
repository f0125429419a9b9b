"""Mappings and repository of quiz competitions: the question bank, quizzes, attempts, answers
and the frozen prize list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime, keyset_page


class QuizQuestionRow(Base):
    """A question of the operators' bank; quizzes copy it when they are saved."""

    __tablename__ = "quiz_questions"
    __table_args__ = (CheckConstraint("kind IN ('single', 'multiple')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    correct: Mapped[list[int]] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QuizRow(Base):
    """A scheduled quiz: its window, its questions (copied from the bank) and reward tiers."""

    __tablename__ = "quizzes"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="window"),
        CheckConstraint("seconds_per_question > 0", name="positive_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime())
    seconds_per_question: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reward_tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set: only members of this segment (core.segments) may attempt it.
    target_segment: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QuizAttemptRow(Base):
    """A member's one attempt; ``position`` is the question being served (0-based) and
    ``served_at`` when it was served (None: not served yet)."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (UniqueConstraint("quiz_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    position: Mapped[int] = mapped_column(Integer)
    served_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class QuizAnswerRow(Base):
    """One question's outcome in an attempt: answered (``answered_at``) or timed out (None).
    The primary key makes a second answer to the same question impossible."""

    __tablename__ = "quiz_answers"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    question_id: Mapped[int] = mapped_column(Integer)
    selected: Mapped[list[int]] = mapped_column(JSON)
    served_at: Mapped[datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    elapsed_ms: Mapped[int] = mapped_column(BigInteger)
    on_time: Mapped[bool] = mapped_column(Boolean)
    correct: Mapped[bool] = mapped_column(Boolean)


class QuizPrizeRow(Base):
    """A frozen prize of a closed quiz; ``paid_at`` is set once its award has posted."""

    __tablename__ = "quiz_prizes"
    __table_args__ = (Index("ix_quiz_prizes_quiz", "quiz_id", "rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tier: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    xp: Mapped[int] = mapped_column(BigInteger)
    item_key: Mapped[str | None] = mapped_column(String(64))
    award_id: Mapped[str] = mapped_column(String(120), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DuplicateRow(Exception):
    """An insert hit a unique constraint (a concurrent writer got there first)."""


class QuizzesRepository:
    """Quiz persistence (``uow.quizzes``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the bank ---
    def add_question(self, row: QuizQuestionRow) -> QuizQuestionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def question(self, question_id: int) -> QuizQuestionRow | None:
        return self.session.get(QuizQuestionRow, question_id)

    def questions_by_id(self, ids: Sequence[int]) -> dict[int, QuizQuestionRow]:
        stmt = select(QuizQuestionRow).where(QuizQuestionRow.id.in_(list(ids)))
        return {row.id: row for row in self.session.scalars(stmt)}

    def question_page(
        self, *, after: int | None, limit: int
    ) -> tuple[Sequence[QuizQuestionRow], int | None]:
        return keyset_page(
            self.session, select(QuizQuestionRow), key=QuizQuestionRow.id, after=after, limit=limit
        )

    def delete_question(self, row: QuizQuestionRow) -> None:
        self.session.delete(row)
        self.session.flush()

    # --- quizzes ---
    def add_quiz(self, row: QuizRow) -> QuizRow:
        self.session.add(row)
        self.session.flush()
        return row

    def quiz(self, quiz_id: int, *, lock: bool = False) -> QuizRow | None:
        stmt = select(QuizRow).where(QuizRow.id == quiz_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def published_page(
        self, *, after: int | None, limit: int
    ) -> tuple[Sequence[QuizRow], int | None]:
        stmt = select(QuizRow).where(QuizRow.published_at.is_not(None))
        return keyset_page(
            self.session, stmt, key=QuizRow.id, after=after, limit=limit, descending=True
        )

    # --- attempts ---
    def add_attempt(self, row: QuizAttemptRow) -> QuizAttemptRow:
        """Insert the attempt; ``DuplicateRow`` when the member already has one."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            raise DuplicateRow from exc
        return row

    def attempt(self, quiz_id: int, member_id: int, *, lock: bool = False) -> QuizAttemptRow | None:
        stmt = select(QuizAttemptRow).where(
            QuizAttemptRow.quiz_id == quiz_id, QuizAttemptRow.member_id == member_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def all_attempts(self) -> list[QuizAttemptRow]:
        return list(self.session.scalars(select(QuizAttemptRow).order_by(QuizAttemptRow.id)))

    def attempts(self, quiz_id: int) -> list[QuizAttemptRow]:
        stmt = select(QuizAttemptRow).where(QuizAttemptRow.quiz_id == quiz_id)
        return list(self.session.scalars(stmt.order_by(QuizAttemptRow.id)))

    def add_answer(self, row: QuizAnswerRow) -> None:
        self.session.add(row)
        self.session.flush()

    def answers(self, attempt_id: int) -> list[QuizAnswerRow]:
        stmt = select(QuizAnswerRow).where(QuizAnswerRow.attempt_id == attempt_id)
        return list(self.session.scalars(stmt.order_by(QuizAnswerRow.position)))

    def answers_of_quiz(self, quiz_id: int) -> list[QuizAnswerRow]:
        stmt = (
            select(QuizAnswerRow)
            .join(QuizAttemptRow, QuizAttemptRow.id == QuizAnswerRow.attempt_id)
            .where(QuizAttemptRow.quiz_id == quiz_id)
        )
        return list(self.session.scalars(stmt))

    # --- prizes ---
    def prizes(self, quiz_id: int) -> list[QuizPrizeRow]:
        stmt = select(QuizPrizeRow).where(QuizPrizeRow.quiz_id == quiz_id)
        return list(self.session.scalars(stmt.order_by(QuizPrizeRow.rank, QuizPrizeRow.id)))

    def add_prizes(self, rows: Sequence[QuizPrizeRow]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def unpaid_count(self, quiz_id: int) -> int:
        stmt = select(func.count()).where(
            QuizPrizeRow.quiz_id == quiz_id, QuizPrizeRow.paid_at.is_(None)
        )
        return int(self.session.scalar(stmt) or 0)

    def mark_paid(self, award_id: str, when: datetime) -> bool:
        """Set the prize's ``paid_at`` unless set; False when another run marked it first."""
        result = self.session.execute(
            update(QuizPrizeRow)
            .where(QuizPrizeRow.award_id == award_id, QuizPrizeRow.paid_at.is_(None))
            .values(paid_at=when)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
