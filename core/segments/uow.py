"""The segments' unit of work: ``uow.segments``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.segments.store import SegmentsRepository
from core.uow import UnitOfWork


class SegmentsUnitOfWork(UnitOfWork):
    segments: SegmentsRepository

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.segments = SegmentsRepository(session)
