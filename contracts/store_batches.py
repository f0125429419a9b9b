"""Persistence of anchoring: anchor batches and which pending pieces each batch holds.

The rows are in ``contracts.store``; registrations, the chain deployment, the compliance terms
and the content policy stay on ``ContentRepository``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session

from contracts.content import (
    AnchorBatch,
    BatchId,
    BatchStatus,
    ContentId,
    ContentStatus,
    ReviewStatus,
)
from contracts.store import AnchorBatchRow, ContentRegistrationRow, ContentReviewRow
from core.db import keyset_page


def _cleared() -> ColumnElement[bool]:
    """A piece may be anchored: it has no review, or its review approved it."""
    return ~exists().where(
        ContentReviewRow.content_id == ContentRegistrationRow.id,
        ContentReviewRow.status != ReviewStatus.APPROVED.value,
    )


class AnchorBatchesRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._postgres = session.get_bind().dialect.name == "postgresql"

    # --- pending pieces ---------------------------------------------------------------------

    def pending_summary(self) -> tuple[int, datetime | None]:
        """How many cleared pieces (not held for review) are pending, and when the oldest was
        registered."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(ContentRegistrationRow.registered_at)).where(
                ContentRegistrationRow.status == ContentStatus.PENDING.value, _cleared()
            )
        ).one()
        return int(count), oldest

    def unbatched_pending(self, limit: int) -> list[tuple[ContentId, bytes]]:
        """(id, leaf) of the oldest cleared pending pieces in no batch yet, locked on PostgreSQL
        (rows another anchorer holds are skipped: it batches them). Pieces held for review or
        rejected are left out."""
        stmt = (
            select(ContentRegistrationRow.id, ContentRegistrationRow.leaf)
            .where(
                ContentRegistrationRow.status == ContentStatus.PENDING.value,
                ContentRegistrationRow.batch_id.is_(None),
                _cleared(),
            )
            .order_by(ContentRegistrationRow.id)
            .limit(limit)
        )
        if self._postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        return [(content_id, leaf) for content_id, leaf in self.session.execute(stmt).all()]

    def assign_batch(self, content_ids: Sequence[ContentId], batch_id: BatchId) -> int:
        """Puts unbatched, cleared pending pieces into ``batch_id``; returns how many it took."""
        taken = 0
        for chunk in _chunks(content_ids):
            result = self.session.execute(
                update(ContentRegistrationRow)
                .where(
                    ContentRegistrationRow.id.in_(chunk),
                    ContentRegistrationRow.batch_id.is_(None),
                    ContentRegistrationRow.status == ContentStatus.PENDING.value,
                    _cleared(),
                )
                .values(batch_id=batch_id)
                .execution_options(synchronize_session=False)
            )
            taken += result.rowcount  # type: ignore[attr-defined]
        return taken

    def batch_leaves(self, batch_id: BatchId) -> list[tuple[ContentId, bytes]]:
        return [
            (content_id, leaf)
            for content_id, leaf in self.session.execute(
                select(ContentRegistrationRow.id, ContentRegistrationRow.leaf)
                .where(ContentRegistrationRow.batch_id == batch_id)
                .order_by(ContentRegistrationRow.id)
            ).all()
        ]

    def set_anchored(self, batch_id: BatchId, proofs: Mapping[ContentId, Sequence[bytes]]) -> None:
        """Marks the batch's pieces anchored, each with its proof."""
        self.session.execute(
            update(ContentRegistrationRow),
            [
                {"id": content_id, "proof": b"".join(proof), "status": "anchored"}
                for content_id, proof in proofs.items()
            ],
            execution_options={"synchronize_session": False},
        )

    def set_batch_content_status(self, batch_id: BatchId, status: ContentStatus) -> None:
        values: dict[str, Any] = {"status": status.value}
        if status is ContentStatus.PENDING:
            values["proof"] = None
        self.session.execute(
            update(ContentRegistrationRow)
            .where(ContentRegistrationRow.batch_id == batch_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    # --- anchor batches ---------------------------------------------------------------------

    def add_batch(
        self,
        *,
        root: bytes,
        count: int,
        chain_id: int,
        contract_address: str,
        from_block: int,
        now: datetime,
    ) -> AnchorBatch:
        row = AnchorBatchRow(
            root=root,
            leaf_count=count,
            status=BatchStatus.SENDING.value,
            chain_id=chain_id,
            contract_address=contract_address,
            from_block=from_block,
            attempts=0,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row.to_batch()

    def batch(self, batch_id: BatchId) -> AnchorBatch | None:
        row = self.session.get(AnchorBatchRow, batch_id)
        return None if row is None else row.to_batch()

    def lock_batch(self, batch_id: BatchId) -> AnchorBatchRow | None:
        return self.session.scalars(
            select(AnchorBatchRow).where(AnchorBatchRow.id == batch_id).with_for_update()
        ).one_or_none()

    def batches_in(self, status: BatchStatus, *, limit: int = 1000) -> list[AnchorBatch]:
        rows = self.session.scalars(
            select(AnchorBatchRow)
            .where(AnchorBatchRow.status == status.value)
            .order_by(AnchorBatchRow.id)
            .limit(limit)
        ).all()
        return [r.to_batch() for r in rows]

    def batches_page(
        self, *, before: BatchId | None, limit: int
    ) -> tuple[list[AnchorBatch], BatchId | None]:
        rows, next_key = keyset_page(
            self.session,
            select(AnchorBatchRow),
            key=AnchorBatchRow.id,
            after=before,
            limit=limit,
            descending=True,
        )
        return [r.to_batch() for r in rows], next_key


def _chunks(ids: Sequence[int], size: int = 5000) -> Iterable[Sequence[int]]:
    # Bound the IN list: SQLite caps bound parameters (32766 by default).
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
