"""The ledger's unit of work: one transaction with the ledger and engagement repositories."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.uow import UnitOfWork
from ledger.store.engagement import EngagementRepository
from ledger.store.repository import LedgerRepository


class LedgerUnitOfWork(UnitOfWork):
    ledger: LedgerRepository
    engagement: EngagementRepository

    def _bind(self, session: Session) -> None:
        self.ledger = LedgerRepository(session)
        self.engagement = EngagementRepository(session)
