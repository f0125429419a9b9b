"""Mappings and repository of segments: onboarding answers, behavioural tags and definitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from core.users.store import UserRow


class OnboardingRow(Base):
    """A member's questionnaire answers (one row, replaced on resubmit; ``revision`` counts the
    submissions and ``questionnaire_version`` names the questionnaire they answered)."""

    __tablename__ = "member_onboarding"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MemberTagRow(Base):
    """A behavioural tag a member holds: ``since`` it was first computed in this run of holding
    it, ``computed_at`` the last refresh that confirmed it."""

    __tablename__ = "member_tags"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SegmentRow(Base):
    """An operator's segment: its key (what targets name), name and definition JSON."""

    __tablename__ = "segments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DuplicateSegment(Exception):
    """A segment with this key exists already (perhaps added concurrently)."""


class SegmentsRepository:
    """Segment persistence (``uow.segments``, or built on any session)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- answers ---
    def onboarding(self, user_id: int, *, lock: bool = False) -> OnboardingRow | None:
        stmt = select(OnboardingRow).where(OnboardingRow.user_id == user_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def add_onboarding(self, row: OnboardingRow) -> bool:
        """Insert; False when the member's row was inserted concurrently."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def all_answers(self) -> dict[int, dict[str, Any]]:
        stmt = select(OnboardingRow.user_id, OnboardingRow.answers)
        return dict(self.session.execute(stmt).all())

    # --- tags ---
    def tags_of(self, user_id: int) -> frozenset[str]:
        stmt = select(MemberTagRow.tag).where(MemberTagRow.user_id == user_id)
        return frozenset(self.session.scalars(stmt))

    def all_tags(self) -> dict[int, frozenset[str]]:
        held: dict[int, set[str]] = {}
        for user_id, tag in self.session.execute(select(MemberTagRow.user_id, MemberTagRow.tag)):
            held.setdefault(user_id, set()).add(tag)
        return {user_id: frozenset(tags) for user_id, tags in held.items()}

    def tag_rows(self) -> list[MemberTagRow]:
        stmt = select(MemberTagRow).order_by(MemberTagRow.user_id, MemberTagRow.tag)
        return list(self.session.scalars(stmt))

    def add_tags(self, rows: Iterable[MemberTagRow]) -> None:
        self.session.add_all(list(rows))
        self.session.flush()

    def drop_tags(self, pairs: Iterable[tuple[int, str]]) -> None:
        for user_id, tag in pairs:
            self.session.execute(
                delete(MemberTagRow).where(MemberTagRow.user_id == user_id, MemberTagRow.tag == tag)
            )

    def tag_counts(self) -> Mapping[str, int]:
        stmt = select(MemberTagRow.tag, func.count()).group_by(MemberTagRow.tag)
        return {tag: int(n) for tag, n in self.session.execute(stmt)}

    # --- members ---
    def member_ids(self) -> set[int]:
        """Every active account (the population segments are drawn from)."""
        return set(self.session.scalars(select(UserRow.id).where(UserRow.is_active.is_(True))))

    # --- segments ---
    def segment(self, key: str) -> SegmentRow | None:
        return self.session.get(SegmentRow, key)

    def segments(self) -> Sequence[SegmentRow]:
        return list(self.session.scalars(select(SegmentRow).order_by(SegmentRow.key)))

    def add_segment(self, row: SegmentRow) -> None:
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            raise DuplicateSegment(row.key) from exc
