"""Persistence of content reviews: the operator queue and its decisions.

The rows are in ``contracts.store``. A decision is one conditional UPDATE (``WHERE status =
'pending'``), so of two operators deciding the same case at once exactly one wins, on SQLite and
PostgreSQL alike, with no lock held across the request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contracts.content import (
    ContentId,
    ContentReview,
    ContentStatus,
    Registration,
    ReviewReason,
    ReviewStatus,
)
from contracts.store import ContentRegistrationRow, ContentReviewRow
from core.db import keyset_page


class ContentReviewsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, content_id: ContentId) -> ContentReview | None:
        # populate_existing: a decision is an UPDATE that bypasses the identity map.
        row = self.session.get(ContentReviewRow, content_id, populate_existing=True)
        return None if row is None else row.to_review()

    def queue(
        self,
        *,
        status: ReviewStatus | None,
        reason: ReviewReason | None,
        after: ContentId | None,
        limit: int,
    ) -> tuple[list[Registration], ContentId | None]:
        """Held pieces, oldest first, with their reviews; filtered by status and by reason."""
        stmt = select(ContentReviewRow)
        if status is not None:
            stmt = stmt.where(ContentReviewRow.status == status.value)
        if reason is ReviewReason.COMPLIANCE:
            stmt = stmt.where(ContentReviewRow.for_compliance.is_(True))
        elif reason is ReviewReason.NEAR_DUPLICATE:
            stmt = stmt.where(ContentReviewRow.for_near_duplicate.is_(True))
        reviews, next_key = keyset_page(
            self.session, stmt, key=ContentReviewRow.content_id, after=after, limit=limit
        )
        ids = [r.content_id for r in reviews]
        pieces = {
            row.id: row
            for row in self.session.scalars(
                select(ContentRegistrationRow).where(ContentRegistrationRow.id.in_(ids))
            )
        }
        return [pieces[r.content_id].to_registration(r.to_review()) for r in reviews], next_key

    def decide(
        self,
        content_id: ContentId,
        status: ReviewStatus,
        *,
        operator_id: int,
        reason: str,
        now: datetime,
    ) -> bool:
        """Records the decision if the review is still pending; whether this call decided it."""
        result = self.session.execute(
            update(ContentReviewRow)
            .where(
                ContentReviewRow.content_id == content_id,
                ContentReviewRow.status == ReviewStatus.PENDING.value,
            )
            .values(
                status=status.value,
                decided_by=operator_id,
                decided_at=now,
                decision_reason=reason,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def uncleared_in_batches(self, *, limit: int) -> list[tuple[ContentId, str, int | None, str]]:
        """(id, review status, batch id, content status) of pieces pending review or rejected
        that are in a batch or not pending: each one breaks the review rule."""
        rows = self.session.execute(
            select(
                ContentRegistrationRow.id,
                ContentReviewRow.status,
                ContentRegistrationRow.batch_id,
                ContentRegistrationRow.status,
            )
            .join(ContentReviewRow, ContentReviewRow.content_id == ContentRegistrationRow.id)
            .where(
                ContentReviewRow.status != ReviewStatus.APPROVED.value,
                (ContentRegistrationRow.batch_id.is_not(None))
                | (ContentRegistrationRow.status != ContentStatus.PENDING.value),
            )
            .order_by(ContentRegistrationRow.id)
            .limit(limit)
        ).all()
        return [(c, review, batch, status) for c, review, batch, status in rows]
