"""The campaigns' unit of work: the ledger's (grants are paid through it) plus ``uow.campaigns``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ledger.campaigns.store import CampaignsRepository
from ledger.services.unit_of_work import LedgerUnitOfWork


class CampaignUnitOfWork(LedgerUnitOfWork):
    campaigns: CampaignsRepository

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.campaigns = CampaignsRepository(session)
