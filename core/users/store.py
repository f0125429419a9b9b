"""Persistence of users and their roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship, selectinload

from core.db import Base, UtcDateTime, keyset_page
from core.users.model import Role, User, UserId


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
            token_stamp=new_token_stamp(),
            roles=[UserRoleRow(role=role.value, granted_at=now) for role in sorted(set(roles))],
        )
        self.session.add(row)
        self.session.flush()
        return row.to_user()

    def get(self, user_id: UserId) -> User | None:
        # Roles joined in: one round trip (every authenticated request comes here).
        row = self.session.get(UserRow, user_id, options=[joinedload(UserRow.roles)])
        return None if row is None else row.to_user()

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

    def page(self, *, after: UserId | None, limit: int) -> tuple[Sequence[User], UserId | None]:
        stmt = select(UserRow).options(selectinload(UserRow.roles))
        rows, last = keyset_page(self.session, stmt, key=UserRow.id, after=after, limit=limit)
        return [row.to_user() for row in rows], last
