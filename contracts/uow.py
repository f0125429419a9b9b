"""The content unit of work: registrations and anchor batches on one transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contracts.store import ContentRepository
from contracts.store_batches import AnchorBatchesRepository
from core.uow import UnitOfWork


class ContentUnitOfWork(UnitOfWork):
    content: ContentRepository
    batches: AnchorBatchesRepository

    def _bind(self, session: Session) -> None:
        self.content = ContentRepository(session)
        self.batches = AnchorBatchesRepository(session)
