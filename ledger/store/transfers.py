"""Mappings of the hash chains: the shard heads, the legacy head, the append-only transfers,
the global seq's sequence, the sealed roots, the ids that failed.

Transfers are never updated or deleted: the ORM refuses it here and database triggers refuse it
below (see the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime
from ledger.model import Transfer, TransferKind
from ledger.shards import LEDGER_SHARDS

# The global seq on PostgreSQL: ``nextval`` takes no lock, so writers to different shards
# never wait on each other for it (a seq is drawn under the shard locks, so the seqs of one
# shard, and of one non-system account, increase in commit order; across shards they need
# not). SQLite writers are serial and take max(seq) + 1.
TRANSFER_SEQ = Sequence("ledger_transfers_seq", metadata=Base.metadata)


class LedgerHeadRow(Base):
    """The end of the legacy global chain (transfers before migration 0031); one row, frozen
    since: the shard chains begin from its hash (``ledger.shards.shard_genesis``)."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class ShardHeadRow(Base):
    """The end of one shard's hash chain, locked by every write to the shard's accounts."""

    __tablename__ = "ledger_heads"
    __table_args__ = (
        CheckConstraint(f"shard >= 0 AND shard < {LEDGER_SHARDS}", name="known_shard"),
    )

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)  # the shard_seq of its last transfer
    last_hash: Mapped[str] = mapped_column(String(64))


class RootRow(Base):
    """A seal over every shard head at one moment, linked to the previous seal."""

    __tablename__ = "ledger_roots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heads: Mapped[list[list[Any]]] = mapped_column(JSON)  # [[shard, shard_seq, hash], …]
    prev_root: Mapped[str] = mapped_column(String(64))
    root: Mapped[str] = mapped_column(String(64))


class TransferRow(Base):
    __tablename__ = "ledger_transfers"
    __table_args__ = (
        Index("ix_ledger_transfers_shard_chain", "shard", "shard_seq", unique=True),
        CheckConstraint("amount > 0", name="positive_amount"),
        CheckConstraint("debit_account <> credit_account", name="distinct_accounts"),
        CheckConstraint(
            "kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'expire_pending')",
            name="known_kind",
        ),
        Index("ix_ledger_transfers_debit", "debit_account", "asset", "seq"),
        Index("ix_ledger_transfers_credit", "credit_account", "asset", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    debit_account: Mapped[str] = mapped_column(String(96))
    credit_account: Mapped[str] = mapped_column(String(96))
    asset: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(256))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    # Unique: a hold is resolved (posted, voided or expired) at most once.
    pending_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    timeout_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Unique: a transfer is reversed at most once.
    reversal_of: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The transfer's shard chain and place in it; NULL for the legacy global chain.
    shard: Mapped[int | None] = mapped_column(Integer)
    shard_seq: Mapped[int | None] = mapped_column(BigInteger)

    def to_transfer(self) -> Transfer:
        return transfer_from(self)

    @classmethod
    def of(cls, transfer: Transfer) -> TransferRow:
        return cls(**transfer_values(transfer))


def transfer_columns() -> list[Any]:
    """Every attribute of ``TransferRow``, for selects that skip building row objects."""
    return [
        getattr(TransferRow, name)
        for name in (
            "seq",
            "id",
            "kind",
            "debit_account",
            "credit_account",
            "asset",
            "amount",
            "reason",
            "reference",
            "meta",
            "pending_id",
            "timeout_seconds",
            "timeout_at",
            "reversal_of",
            "created_at",
            "prev_hash",
            "hash",
            "shard",
            "shard_seq",
        )
    ]


def transfer_from(row: Any) -> Transfer:
    """A transfer from a ``TransferRow``, or a result row of ``transfer_columns()``."""
    return Transfer(
        seq=row.seq,
        id=row.id,
        kind=TransferKind(row.kind),
        debit=row.debit_account,
        credit=row.credit_account,
        asset=row.asset,
        amount=row.amount,
        reason=row.reason,
        reference=row.reference,
        metadata=row.meta,
        pending_id=row.pending_id,
        timeout_seconds=row.timeout_seconds,
        timeout_at=row.timeout_at,
        reversal_of=row.reversal_of,
        created_at=row.created_at,
        prev_hash=row.prev_hash,
        hash=row.hash,
        shard=row.shard,
        shard_seq=row.shard_seq,
    )


def transfer_values(transfer: Transfer) -> dict[str, Any]:
    """A transfer as ``TransferRow`` attribute values (for bulk inserts)."""
    return {
        "seq": transfer.seq,
        "id": transfer.id,
        "kind": transfer.kind.value,
        "debit_account": transfer.debit,
        "credit_account": transfer.credit,
        "asset": transfer.asset,
        "amount": transfer.amount,
        "reason": transfer.reason,
        "reference": transfer.reference,
        "meta": dict(transfer.metadata),
        "pending_id": transfer.pending_id,
        "timeout_seconds": transfer.timeout_seconds,
        "timeout_at": transfer.timeout_at,
        "reversal_of": transfer.reversal_of,
        "created_at": transfer.created_at,
        "prev_hash": transfer.prev_hash,
        "hash": transfer.hash,
        "shard": transfer.shard,
        "shard_seq": transfer.shard_seq,
    }


@event.listens_for(TransferRow, "before_update")
@event.listens_for(TransferRow, "before_delete")
def _append_only(*_: object) -> None:
    raise RuntimeError("ledger transfers are append-only; correct with a reversal transfer")


class FailedTransferRow(Base):
    """Ids whose transfer was refused by a rule of state; they stay failed."""

    __tablename__ = "ledger_failed_transfers"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
