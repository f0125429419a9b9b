"""Persistence of users and their roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from core.db import Base, UtcDateTime, keyset_page
from core.users.model import Role, User, UserId
from core.users.sign_in_limits import FailureCount


def new_token_stamp() -> str:
    return secrets.token_urlsafe(16)


class UserRow(Base):
    __tablename__ = "users"
    # Ids are never reused (SQLite would otherwise hand a deleted user's id to the next one).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rank_history_public: Mapped[bool] = mapped_column(Boolean, default=True)
    token_stamp: Mapped[str] = mapped_column(String(32))
    roles: Mapped[list[UserRoleRow]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def to_user(self) -> User:
        return User(
            id=self.id,
            username=self.username,
            display_name=self.display_name,
            roles=frozenset(Role(r.role) for r in self.roles),
            created_at=self.created_at,
            is_active=self.is_active,
            rank_history_public=self.rank_history_public,
            token_stamp=self.token_stamp,
        )


class UserRoleRow(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'operator', 'author')", name="known_role"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    user: Mapped[UserRow] = relationship(back_populates="roles")


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        username: str,
        display_name: str,
        password_hash: str,
        roles: Iterable[Role],
        now: datetime,
    ) -> User:
        row = UserRow(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            is_active=True,
            created_at=now,
            rank_history_public=True,
            token_stamp=new_token_stamp(),
            roles=[UserRoleRow(role=role.value, granted_at=now) for role in sorted(set(roles))],
        )
        self.session.add(row)
        self.session.flush()
        return row.to_user()

    def get(self, user_id: UserId) -> User | None:
        # Every authenticated request comes here: roles joined in (one round trip), and plain
        # rows rather than ORM entities (no identity map, no collection loading).
        user = UserRow.__table__.c
        stmt = (
            select(
                user.id,
                user.username,
                user.display_name,
                user.created_at,
                user.is_active,
                user.rank_history_public,
                user.token_stamp,
                UserRoleRow.__table__.c.role,
            )
            .outerjoin(UserRoleRow.__table__, UserRoleRow.__table__.c.user_id == user.id)
            .where(user.id == user_id)
        )
        rows = self.session.execute(stmt).all()
        if not rows:
            return None
        first = rows[0]
        return User(
            id=first.id,
            username=first.username,
            display_name=first.display_name,
            roles=frozenset(Role(row.role) for row in rows if row.role is not None),
            created_at=first.created_at,
            is_active=first.is_active,
            rank_history_public=first.rank_history_public,
            token_stamp=first.token_stamp,
        )

    def credentials(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash, for authentication."""
        row = self.session.scalar(select(UserRow).where(UserRow.username == username))
        return None if row is None else (row.to_user(), row.password_hash)

    def username_taken(self, username: str) -> bool:
        return (
            self.session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None
        )

    def revoke_tokens(self, user_id: UserId, *, password_hash: str | None = None) -> User | None:
        """A new token stamp (every earlier token stops working), and a new password if given."""
        row = self.session.get(UserRow, user_id, with_for_update=True)
        if row is None:
            return None
        row.token_stamp = new_token_stamp()
        if password_hash is not None:
            row.password_hash = password_hash
        self.session.flush()
        return row.to_user()

    def set_roles(self, user_id: UserId, roles: Iterable[Role], *, now: datetime) -> User | None:
        row = self.session.get(UserRow, user_id, with_for_update=True)
        if row is None:
            return None
        wanted = {role.value for role in roles}
        row.roles = [r for r in row.roles if r.role in wanted] + [
            UserRoleRow(role=role, granted_at=now)
            for role in sorted(wanted - {r.role for r in row.roles})
        ]
        self.session.flush()
        return row.to_user()

    def set_rank_history_public(self, user_id: UserId, public: bool) -> User | None:
        row = self.session.get(UserRow, user_id, with_for_update=True)
        if row is None:
            return None
        row.rank_history_public = public
        self.session.flush()
        return row.to_user()

    def page(self, *, after: UserId | None, limit: int) -> tuple[Sequence[User], UserId | None]:
        stmt = select(UserRow).options(selectinload(UserRow.roles))
        rows, last = keyset_page(self.session, stmt, key=UserRow.id, after=after, limit=limit)
        return [row.to_user() for row in rows], last


class SignInFailureRow(Base):
    """One failed sign-in (or one in progress: it counts until the password proves right)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_key_failed_at", "key", "failed_at"),
        Index("ix_sign_in_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))  # sign_in_limits.limit_key
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignInFailures:
    """Failed sign-ins, shared by every worker through the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def serialize(self) -> None:
        """Make concurrent sign-ins count one after another (SQLite's BEGIN IMMEDIATE already
        does), so parallel guesses cannot all pass the check before any is recorded."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("LOCK TABLE sign_in_failures IN SHARE ROW EXCLUSIVE MODE"))

    def count(self, key: str, *, since: datetime) -> FailureCount:
        failures, last = self.session.execute(
            select(func.count(), func.max(SignInFailureRow.failed_at)).where(
                SignInFailureRow.key == key, SignInFailureRow.failed_at > since
            )
        ).one()
        return FailureCount(failures, last)

    def add(self, keys: Iterable[str], *, at: datetime) -> list[int]:
        rows = [SignInFailureRow(key=key, failed_at=at) for key in keys]
        self.session.add_all(rows)
        self.session.flush()
        return [row.id for row in rows]

    def forget(self, *, keys: Iterable[str] = (), ids: Iterable[int] = ()) -> None:
        """Drop every failure of ``keys`` and the failures ``ids``."""
        keys, ids = list(keys), list(ids)
        if keys:
            self.session.execute(delete(SignInFailureRow).where(SignInFailureRow.key.in_(keys)))
        if ids:
            self.session.execute(delete(SignInFailureRow).where(SignInFailureRow.id.in_(ids)))

    def prune(self, *, before: datetime) -> None:
        self.session.execute(delete(SignInFailureRow).where(SignInFailureRow.failed_at <= before))
