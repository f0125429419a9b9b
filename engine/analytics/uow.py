"""The analytics unit of work: read-only, ``uow.analytics`` over one session."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.uow import UnitOfWork
from engine.analytics.store import AnalyticsRepository


class AnalyticsUnitOfWork(UnitOfWork):
    analytics: AnalyticsRepository

    def _bind(self, session: Session) -> None:
        self.analytics = AnalyticsRepository(session)
