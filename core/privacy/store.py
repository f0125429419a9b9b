"""Persistence of consents and erasure requests; the generic row export the sections share;
the sections of core (users, consents)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from core.privacy.model import (
    ConsentAction,
    ConsentDocument,
    ConsentKind,
    ConsentRecord,
    ErasureRequest,
)
from core.privacy.sections import JsonDict, Section, TableUse, Treatment, pseudonym
from core.users.model import UserId
from core.users.passwords import unusable_hash
from core.users.sign_in_limits import LimitKind, limit_key
from core.users.store import SignInFailureRow, UserRoleRow, UserRow, new_token_stamp

KINDS = "kind IN ('terms', 'privacy', 'questionnaire')"


class ConsentDocumentRow(Base):
    """One published version of a consent document; never changed once published."""

    __tablename__ = "consent_documents"
    __table_args__ = (
        CheckConstraint(KINDS, name="known_kind"),
        UniqueConstraint("kind", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def to_document(self) -> ConsentDocument:
        return ConsentDocument(
            kind=ConsentKind(self.kind),
            version=self.version,
            title=self.title,
            body=self.body,
            sha256=self.sha256,
            published_at=self.published_at,
            published_by=self.published_by,
        )


class ConsentRecordRow(Base):
    """One acceptance or withdrawal by a member (append-only)."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint(KINDS, name="known_kind"),
        CheckConstraint("action IN ('accept', 'withdraw')", name="known_action"),
        Index("ix_consent_records_user_id_kind", "user_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    address: Mapped[str | None] = mapped_column(String(64))

    def to_record(self) -> ConsentRecord:
        return ConsentRecord(
            id=self.id,
            user_id=self.user_id,
            kind=ConsentKind(self.kind),
            version=self.version,
            action=ConsentAction(self.action),
            at=self.at,
            address=self.address,
        )


class ErasureRequestRow(Base):
    """A member's request to be erased, and its execution by an operator."""

    __tablename__ = "erasure_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'erased')", name="known_status"),
        Index("ix_erasure_requests_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    erased_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))

    def to_request(self) -> ErasureRequest:
        return ErasureRequest(
            id=self.id,
            user_id=self.user_id,
            status=self.status,
            requested_at=self.requested_at,
            note=self.note,
            erased_at=self.erased_at,
            erased_by=self.erased_by,
            reason=self.reason,
        )


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def latest(self, kind: ConsentKind) -> ConsentDocument | None:
        row = self.session.scalar(
            select(ConsentDocumentRow)
            .where(ConsentDocumentRow.kind == kind.value)
            .order_by(ConsentDocumentRow.version.desc())
            .limit(1)
        )
        return None if row is None else row.to_document()

    def document(self, kind: ConsentKind, version: int) -> ConsentDocument | None:
        row = self.session.scalar(
            select(ConsentDocumentRow).where(
                ConsentDocumentRow.kind == kind.value, ConsentDocumentRow.version == version
            )
        )
        return None if row is None else row.to_document()

    def documents(self) -> list[ConsentDocument]:
        stmt = select(ConsentDocumentRow).order_by(
            ConsentDocumentRow.kind, ConsentDocumentRow.version
        )
        return [row.to_document() for row in self.session.scalars(stmt)]

    def lock_kind(self, kind: ConsentKind) -> None:
        """Serialize publications of one kind (PostgreSQL; SQLite's BEGIN IMMEDIATE already
        does): the unique (kind, version) constraint is the backstop."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtext(f"consent:{kind.value}")))
            )

    def publish(self, document: ConsentDocument) -> ConsentDocument:
        row = ConsentDocumentRow(
            kind=document.kind.value,
            version=document.version,
            title=document.title,
            body=document.body,
            sha256=document.sha256,
            published_at=document.published_at,
            published_by=document.published_by,
        )
        self.session.add(row)
        self.session.flush()
        return row.to_document()

    def records(self, user_id: UserId) -> list[ConsentRecord]:
        stmt = (
            select(ConsentRecordRow)
            .where(ConsentRecordRow.user_id == user_id)
            .order_by(ConsentRecordRow.id)
        )
        return [row.to_record() for row in self.session.scalars(stmt)]

    def published(self, kinds: Sequence[ConsentKind]) -> bool:
        """Whether any version of any of ``kinds`` is published (one statement)."""
        found = select(ConsentDocumentRow.kind).where(
            ConsentDocumentRow.kind.in_([kind.value for kind in kinds])
        )
        return bool(self.session.scalar(select(found.exists())))

    def standing(self, user_id: UserId, kind: ConsentKind) -> tuple[int | None, int | None]:
        """The latest published version of ``kind`` and the version the member's last record
        accepts (None: none published; never accepted, or withdrawn), in one statement: the
        consent gate runs before every member write."""
        latest = (
            select(func.max(ConsentDocumentRow.version))
            .where(ConsentDocumentRow.kind == kind.value)
            .scalar_subquery()
        )
        mine = (
            select(ConsentRecordRow)
            .where(ConsentRecordRow.user_id == user_id, ConsentRecordRow.kind == kind.value)
            .order_by(ConsentRecordRow.id.desc())
            .limit(1)
        )
        version = mine.with_only_columns(ConsentRecordRow.version).scalar_subquery()
        action = mine.with_only_columns(ConsentRecordRow.action).scalar_subquery()
        newest, last_version, last_action = self.session.execute(
            select(latest, version, action)
        ).one()
        accepted = last_version if last_action == ConsentAction.ACCEPT.value else None
        return newest, accepted

    def last_record(self, user_id: UserId, kind: ConsentKind) -> ConsentRecord | None:
        row = self.session.scalar(
            select(ConsentRecordRow)
            .where(ConsentRecordRow.user_id == user_id, ConsentRecordRow.kind == kind.value)
            .order_by(ConsentRecordRow.id.desc())
            .limit(1)
        )
        return None if row is None else row.to_record()

    def add_record(
        self,
        user_id: UserId,
        kind: ConsentKind,
        *,
        version: int,
        action: ConsentAction,
        at: datetime,
        address: str | None,
    ) -> ConsentRecord:
        row = ConsentRecordRow(
            user_id=user_id,
            kind=kind.value,
            version=version,
            action=action.value,
            at=at,
            address=address,
        )
        self.session.add(row)
        self.session.flush()
        return row.to_record()

    def lock_user(self, user_id: UserId) -> bool:
        """Row-lock the user (concurrent consents and erasures of one member queue); whether
        the user exists."""
        found = self.session.scalar(
            select(UserRow.id).where(UserRow.id == user_id).with_for_update()
        )
        return found is not None

    def exists(self, user_id: UserId) -> bool:
        return self.session.scalar(select(UserRow.id).where(UserRow.id == user_id)) is not None

    def erasure(self, user_id: UserId) -> ErasureRequest | None:
        row = self.session.scalar(
            select(ErasureRequestRow)
            .where(ErasureRequestRow.user_id == user_id, ErasureRequestRow.status == "erased")
            .limit(1)
        )
        return None if row is None else row.to_request()

    def pending_request(self, user_id: UserId) -> ErasureRequest | None:
        row = self._pending_row(user_id)
        return None if row is None else row.to_request()

    def _pending_row(self, user_id: UserId) -> ErasureRequestRow | None:
        return self.session.scalar(
            select(ErasureRequestRow)
            .where(ErasureRequestRow.user_id == user_id, ErasureRequestRow.status == "pending")
            .order_by(ErasureRequestRow.id)
            .limit(1)
        )

    def add_request(self, user_id: UserId, *, note: str | None, at: datetime) -> ErasureRequest:
        row = ErasureRequestRow(user_id=user_id, status="pending", requested_at=at, note=note)
        self.session.add(row)
        self.session.flush()
        return row.to_request()

    def mark_erased(
        self, user_id: UserId, *, operator_id: UserId, reason: str, at: datetime
    ) -> ErasureRequest:
        """The pending request (or a new one) becomes the record of the erasure."""
        row = self._pending_row(user_id)
        if row is None:
            row = ErasureRequestRow(user_id=user_id, requested_at=at)
            self.session.add(row)
        row.status, row.erased_at, row.erased_by, row.reason = "erased", at, operator_id, reason
        self.session.flush()
        return row.to_request()

    def requests(
        self, *, status: str | None, after: int | None, limit: int
    ) -> list[ErasureRequest]:
        stmt = select(ErasureRequestRow).order_by(ErasureRequestRow.id).limit(limit)
        if status is not None:
            stmt = stmt.where(ErasureRequestRow.status == status)
        if after is not None:
            stmt = stmt.where(ErasureRequestRow.id > after)
        return [row.to_request() for row in self.session.scalars(stmt)]


# --- the generic row export and deletion every section uses ------------------------------------


def jsonable(value: Any) -> Any:
    """A column value as JSON: times and dates ISO 8601, decimals as text, bytes as hex."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def rows_of(
    session: Session,
    table: str,
    column: str,
    values: Iterable[Any],
    *,
    omit: Sequence[str] = (),
) -> list[JsonDict]:
    """Every row of ``table`` whose ``column`` is one of ``values``, as JSON-able dicts in
    primary-key order, without the ``omit`` columns (secrets such as a password hash)."""
    wanted = list(values)
    if not wanted:
        return []
    mapped = Base.metadata.tables[table]
    stmt = select(mapped).where(mapped.c[column].in_(wanted)).order_by(*mapped.primary_key)
    return [
        {key: jsonable(value) for key, value in row._mapping.items() if key not in omit}
        for row in session.execute(stmt)
    ]


def delete_rows(session: Session, table: str, column: str, values: Iterable[Any]) -> int:
    """Delete the rows of ``table`` whose ``column`` is one of ``values``; how many."""
    wanted = list(values)
    if not wanted:
        return 0
    mapped = Base.metadata.tables[table]
    result = session.execute(delete(mapped).where(mapped.c[column].in_(wanted)))
    return int(getattr(result, "rowcount", 0) or 0)


def count_rows(session: Session, table: str, column: str, values: Iterable[Any]) -> int:
    wanted = list(values)
    if not wanted:
        return 0
    mapped = Base.metadata.tables[table]
    stmt = select(func.count()).select_from(mapped).where(mapped.c[column].in_(wanted))
    return int(session.scalar(stmt) or 0)


# --- core's sections ----------------------------------------------------------------------------

SECRET_COLUMNS = ("password_hash", "token_stamp")


def _export_account(session: Session, user_id: UserId) -> JsonDict:
    users = rows_of(session, "users", "id", [user_id], omit=SECRET_COLUMNS)
    username = users[0]["username"] if users else None
    failures = (
        rows_of(session, "sign_in_failures", "key", [limit_key(LimitKind.USERNAME, username)])
        if username
        else []
    )
    return {
        "user": users[0] if users else None,
        "roles": rows_of(session, "user_roles", "user_id", [user_id]),
        "failed_sign_ins": [{"failed_at": f["failed_at"]} for f in failures],
    }


def _erase_account(session: Session, user_id: UserId) -> dict[str, int]:
    row = session.get(UserRow, user_id, with_for_update=True)
    if row is None:
        return {}
    failures = delete_rows(
        session, "sign_in_failures", "key", [limit_key(LimitKind.USERNAME, row.username)]
    )
    name = pseudonym(user_id)
    changed = int(row.username != name)
    if changed:
        row.password_hash = unusable_hash()  # no password matches it
    row.username, row.display_name, row.is_active = name, name, False
    row.rank_history_public = False
    row.token_stamp = new_token_stamp()  # every token issued so far stops working
    session.flush()
    return {"users": changed, "sign_in_failures": failures}


ACCOUNT_SECTION = Section(
    name="account",
    tables=(
        TableUse(
            "users",
            "id",
            Treatment.PSEUDONYMISED,
            "the row stays (ledger accounts, entries and results name the id): username and "
            "display name become erased-<id>, the password can match nothing, tokens revoked",
        ),
        TableUse(
            "user_roles",
            "user_id",
            Treatment.KEPT,
            "roles are not personal data; they explain past operator actions",
        ),
        TableUse(
            "sign_in_failures",
            "key",
            Treatment.DELETED,
            "failed sign-ins of the member's username (keys are hashed)",
        ),
    ),
    export=_export_account,
    erase=_erase_account,
)

# Imported for their mappings' sake only (the sections read tables by name).
_MAPPED = (UserRoleRow, SignInFailureRow)


def _export_consents(session: Session, user_id: UserId) -> JsonDict:
    return {
        "consents": rows_of(session, "consent_records", "user_id", [user_id]),
        "erasure_requests": rows_of(session, "erasure_requests", "user_id", [user_id]),
        "published_documents": [
            {"kind": d["kind"], "version": d["version"], "sha256": d["sha256"]}
            for d in rows_of(session, "consent_documents", "published_by", [user_id])
        ],
    }


def _erase_consents(session: Session, user_id: UserId) -> dict[str, int]:
    addresses = session.execute(
        update(ConsentRecordRow)
        .where(ConsentRecordRow.user_id == user_id, ConsentRecordRow.address.is_not(None))
        .values(address=None)
    )
    notes = session.execute(
        update(ErasureRequestRow)
        .where(ErasureRequestRow.user_id == user_id, ErasureRequestRow.note.is_not(None))
        .values(note=None)
    )
    return {
        "consent_records": int(getattr(addresses, "rowcount", 0) or 0),
        "erasure_requests": int(getattr(notes, "rowcount", 0) or 0),
    }


CONSENTS_SECTION = Section(
    name="consents",
    tables=(
        TableUse(
            "consent_records",
            "user_id",
            Treatment.PSEUDONYMISED,
            "proof of what the member agreed to and when (lawful basis); the address is cleared",
        ),
        TableUse(
            "erasure_requests",
            "user_id",
            Treatment.PSEUDONYMISED,
            "the record that the erasure was asked for and done; the member's note is cleared",
        ),
        TableUse(
            "erasure_requests",
            "erased_by",
            Treatment.KEPT,
            "which operator executed an erasure (an id)",
        ),
        TableUse(
            "consent_documents",
            "published_by",
            Treatment.KEPT,
            "which operator published a document version (an id); the documents are public",
        ),
    ),
    export=_export_consents,
    erase=_erase_consents,
)


# --- the check that erasures stay done ----------------------------------------------------------


def erasure_problems(session: Session, sections: Sequence[Section]) -> list[str]:
    """Erased members whose account is not pseudonymised and disabled, or who have rows again
    in a table their sections delete (by a column that refers to users)."""
    deleted = [
        use
        for section in sections
        for use in section.tables
        if use.treatment is Treatment.DELETED and _refers_to_users(use.table, use.column)
    ]
    problems = []
    stmt = select(ErasureRequestRow.user_id).where(ErasureRequestRow.status == "erased")
    for user_id in session.scalars(stmt.order_by(ErasureRequestRow.user_id)):
        row = session.get(UserRow, user_id)
        name = pseudonym(user_id)
        if row is None or (row.username, row.display_name, row.is_active) != (name, name, False):
            problems.append(f"erased member {user_id}: the account is not {name} and disabled")
        for use in deleted:
            left = count_rows(session, use.table, use.column, [user_id])
            if left:
                problems.append(f"erased member {user_id}: {left} rows in {use.table}.{use.column}")
    return problems


def _refers_to_users(table: str, column: str) -> bool:
    keys = Base.metadata.tables[table].c[column].foreign_keys
    return any(fk.column.table.name == "users" for fk in keys)
