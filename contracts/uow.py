"""The content unit of work: registrations, reviews, anchor batches and attestations on one
transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.store import ContentRepository
from contracts.store_attestations import AttestationsRepository
from contracts.store_batches import AnchorBatchesRepository
from contracts.store_reviews import ContentReviewsRepository
from core.uow import UnitOfWork


class ContentUnitOfWork(UnitOfWork):
    content: ContentRepository
    batches: AnchorBatchesRepository
    attestations: AttestationsRepository
    reviews: ContentReviewsRepository

    def _bind(self, session: Session) -> None:
        self.content = ContentRepository(session)
        self.batches = AnchorBatchesRepository(session)
        self.attestations = AttestationsRepository(session)
        self.reviews = ContentReviewsRepository(session)
