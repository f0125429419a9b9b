"""The leagues' unit of work: the engine's (contest standings, the ledger for rewards) plus
``uow.leagues``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.leagues.store import LeaguesRepository
from engine.uow import EngineUnitOfWork


class LeagueUnitOfWork(EngineUnitOfWork):
    leagues: LeaguesRepository

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.leagues = LeaguesRepository(session)
