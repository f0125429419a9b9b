"""Persistence of sign-in signals and person links (both keyed by user, cascading with it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from core.integrity.model import ClientSignal, SignalKind, SignalRecord


class MemberSignalRow(Base):
    """One sign-up or login: address, device id and user-agent hash (erasable per user)."""

    __tablename__ = "member_signals"
    __table_args__ = (
        CheckConstraint("kind IN ('sign_up', 'login')", name="known_kind"),
        Index("ix_member_signals_user_id", "user_id", "at"),
        Index("ix_member_signals_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    ip: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    user_agent_hash: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_record(self) -> SignalRecord:
        return SignalRecord(
            id=self.id,
            user_id=self.user_id,
            kind=SignalKind(self.kind),
            ip=self.ip,
            device_id=self.device_id,
            user_agent_hash=self.user_agent_hash,
            at=self.at,
        )


class PersonLinkRow(Base):
    """An account an operator linked to a person; ``person_id`` is the group's least user id."""

    __tablename__ = "person_links"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    case_id: Mapped[int | None] = mapped_column(Integer)
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user_id: int, kind: SignalKind, signal: ClientSignal, *, at: datetime) -> None:
        self.session.add(
            MemberSignalRow(
                user_id=user_id,
                kind=kind.value,
                ip=signal.ip,
                device_id=signal.device_id,
                user_agent_hash=signal.user_agent_hash,
                at=at,
            )
        )
        self.session.flush()

    def since(self, moment: datetime) -> list[SignalRecord]:
        """Every signal at or after ``moment``, oldest first."""
        rows = self.session.scalars(
            select(MemberSignalRow)
            .where(MemberSignalRow.at >= moment)
            .order_by(MemberSignalRow.at, MemberSignalRow.id)
        )
        return [row.to_record() for row in rows]

    def of_user(self, user_id: int) -> list[SignalRecord]:
        rows = self.session.scalars(
            select(MemberSignalRow)
            .where(MemberSignalRow.user_id == user_id)
            .order_by(MemberSignalRow.at, MemberSignalRow.id)
        )
        return [row.to_record() for row in rows]

    def erase_user(self, user_id: int) -> int:
        """Delete the user's signals (the PIPL erase seam); the number deleted."""
        result = self.session.execute(
            delete(MemberSignalRow).where(MemberSignalRow.user_id == user_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class PersonLinks:
    """Which accounts belong to one person."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def persons_of(self, user_ids: Iterable[int]) -> dict[int, int]:
        """Person id of each linked user among ``user_ids`` (unlinked users are left out)."""
        wanted = sorted(set(user_ids))
        found: dict[int, int] = {}
        for start in range(0, len(wanted), 500):  # bounded IN lists
            chunk = wanted[start : start + 500]
            rows = self.session.execute(
                select(PersonLinkRow.user_id, PersonLinkRow.person_id).where(
                    PersonLinkRow.user_id.in_(chunk)
                )
            )
            found.update((int(user), int(person)) for user, person in rows)
        return found

    def person_of(self, user_id: int) -> int:
        return self.persons_of([user_id]).get(user_id, user_id)

    def members(self, person_id: int) -> list[int]:
        """The accounts linked to ``person_id``, ascending (empty when nobody is linked)."""
        return list(
            self.session.scalars(
                select(PersonLinkRow.user_id)
                .where(PersonLinkRow.person_id == person_id)
                .order_by(PersonLinkRow.user_id)
            )
        )

    def link(self, user_ids: Sequence[int], *, case_id: int | None, at: datetime) -> int:
        """Join ``user_ids`` and every account already linked to any of them into one person;
        the person id (the least user id of the whole group).

        Links are made one at a time (the table is locked on PostgreSQL; SQLite's write
        transactions already queue), so two decisions that share an account merge cleanly."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("LOCK TABLE person_links IN SHARE ROW EXCLUSIVE MODE"))
        persons = self.persons_of(user_ids)
        old_persons = set(persons.values())
        group = set(user_ids) | old_persons
        for person in old_persons:
            group |= set(self.members(person))
        person_id = min(group)
        if old_persons:
            self.session.execute(
                update(PersonLinkRow)
                .where(PersonLinkRow.person_id.in_(sorted(old_persons)))
                .values(person_id=person_id)
            )
        linked = set(self.persons_of(group))
        for user in sorted(group - linked):
            self.session.add(
                PersonLinkRow(user_id=user, person_id=person_id, case_id=case_id, linked_at=at)
            )
        self.session.flush()
        return person_id
