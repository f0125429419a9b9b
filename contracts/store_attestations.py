"""Persistence of attestations: one row per attestation (its root and anchoring), one per leaf.

``(kind, subject)`` is unique, so attesting the same contest's rules or results twice (a rerun,
two processes at once) stores one attestation and anchors one root. A leaf row carries a
``holder`` (the member a results leaf is about) so a certificate is one indexed read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from contracts.attestations import Attestation, AttestationId, AttestationStatus, LeafValues
from core.db import Base, UtcDateTime


class AttestationRow(Base):
    __tablename__ = "attestations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'anchored', 'final')", name="known_status"
        ),
        CheckConstraint("leaf_count > 0", name="positive_count"),
        UniqueConstraint("kind", "subject"),
        Index("ix_attestations_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[int] = mapped_column(BigInteger)
    leaf_encoding: Mapped[list[str]] = mapped_column(JSON)
    leaf_count: Mapped[int] = mapped_column(Integer)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    document: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    contract_address: Mapped[str | None] = mapped_column(String(42))
    from_block: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    anchored_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def to_attestation(self) -> Attestation:
        return Attestation(
            id=self.id,
            kind=self.kind,
            subject=self.subject,
            leaf_encoding=tuple(self.leaf_encoding),
            count=self.leaf_count,
            root=self.root,
            document=self.document,
            status=AttestationStatus(self.status),
            created_at=self.created_at,
            attempts=self.attempts,
            last_error=self.last_error,
            chain_id=self.chain_id,
            contract_address=self.contract_address,
            from_block=self.from_block,
            tx_hash=self.tx_hash,
            block_number=self.block_number,
            block_hash=self.block_hash,
            block_timestamp=self.block_timestamp,
            gas_used=self.gas_used,
            anchored_at=self.anchored_at,
            finalized_at=self.finalized_at,
        )


class AttestationLeafRow(Base):
    __tablename__ = "attestation_leaves"
    __table_args__ = (Index("ix_attestation_leaves_holder", "attestation_id", "holder"),)

    attestation_id: Mapped[int] = mapped_column(ForeignKey("attestations.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[int | None] = mapped_column(BigInteger)
    leaf_values: Mapped[list[str]] = mapped_column(JSON)


class AttestationsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_once(
        self,
        *,
        kind: str,
        subject: int,
        leaf_encoding: Sequence[str],
        leaves: Sequence[tuple[int | None, LeafValues]],
        root: bytes,
        document: str,
        now: datetime,
    ) -> Attestation:
        """A pending attestation with its leaves (``(holder, values)``, in tree order); the one
        a concurrent transaction stored first when it wins the race for ``(kind, subject)``."""
        try:
            with self.session.begin_nested():
                return self._add(kind, subject, leaf_encoding, leaves, root, document, now)
        except IntegrityError:
            found = self.find(kind, subject)
            if found is None:
                raise
            return found

    def _add(
        self,
        kind: str,
        subject: int,
        leaf_encoding: Sequence[str],
        leaves: Sequence[tuple[int | None, LeafValues]],
        root: bytes,
        document: str,
        now: datetime,
    ) -> Attestation:
        row = AttestationRow(
            kind=kind,
            subject=subject,
            leaf_encoding=list(leaf_encoding),
            leaf_count=len(leaves),
            root=root,
            document=document,
            status=AttestationStatus.PENDING.value,
            attempts=0,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        self.session.add_all(
            AttestationLeafRow(
                attestation_id=row.id, position=i, holder=holder, leaf_values=list(values)
            )
            for i, (holder, values) in enumerate(leaves)
        )
        self.session.flush()
        return row.to_attestation()

    def find(self, kind: str, subject: int) -> Attestation | None:
        row = self.session.scalars(
            select(AttestationRow).where(
                AttestationRow.kind == kind, AttestationRow.subject == subject
            )
        ).one_or_none()
        return None if row is None else row.to_attestation()

    def subjects(self, kind: str) -> set[int]:
        """The subjects that already have an attestation of ``kind``."""
        return set(
            self.session.scalars(select(AttestationRow.subject).where(AttestationRow.kind == kind))
        )

    def lock(self, attestation_id: AttestationId) -> AttestationRow | None:
        return self.session.scalars(
            select(AttestationRow).where(AttestationRow.id == attestation_id).with_for_update()
        ).one_or_none()

    def in_status(
        self, statuses: Sequence[AttestationStatus], *, limit: int = 1000
    ) -> list[Attestation]:
        rows = self.session.scalars(
            select(AttestationRow)
            .where(AttestationRow.status.in_([s.value for s in statuses]))
            .order_by(AttestationRow.id)
            .limit(limit)
        ).all()
        return [r.to_attestation() for r in rows]

    def leaves(self, attestation_id: AttestationId) -> list[LeafValues]:
        """Every leaf's values, in tree order."""
        return [
            tuple(values)
            for values in self.session.scalars(
                select(AttestationLeafRow.leaf_values)
                .where(AttestationLeafRow.attestation_id == attestation_id)
                .order_by(AttestationLeafRow.position)
            )
        ]

    def position_of(self, attestation_id: AttestationId, holder: int) -> int | None:
        """The position of ``holder``'s leaf, or ``None`` when the attestation has none."""
        return self.session.scalars(
            select(AttestationLeafRow.position)
            .where(
                AttestationLeafRow.attestation_id == attestation_id,
                AttestationLeafRow.holder == holder,
            )
            .order_by(AttestationLeafRow.position)
            .limit(1)
        ).first()
