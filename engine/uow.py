"""The engine's unit of work: trading, contests, teams, PK, prizes and standings, with the
ledger, on one transaction; and the process state it shares between transactions.

It imports repositories only (never services), so every service module can take it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from core.integrity.store import PersonLinks, SignalRepository
from core.page_cache import InProcessPageCache, PageCache
from engine.contests.contest_heads import ContestHeads
from engine.contests.standings_cache import StandingsCache
from engine.contests.store import ContestsRepository
from engine.contests.store_pk import PkRepository, TeamsRepository
from engine.contests.store_prizes import PrizesRepository
from engine.contests.store_rules import RulesRepository
from engine.contests.store_standings import StandingsRepository
from engine.integrity.store import IntegrityRepository
from engine.trading.books_cache import BooksCache
from engine.trading.uow import TradingUnitOfWork


@dataclass(frozen=True, slots=True)
class EngineCaches:
    """What a process keeps between transactions; the app or the simulation owns one."""

    books: BooksCache = field(default_factory=BooksCache)
    standings: StandingsCache = field(default_factory=StandingsCache)
    # Serialized leaderboard pages and tick indexes: Redis when configured, so every worker
    # shares them (engine.contests.board_pages).
    pages: PageCache = field(default_factory=InProcessPageCache)
    # Contests' heads, trusted while the database's notifications reach this process (the
    # app attaches them): a kept board page is then served without a round trip.
    heads: ContestHeads = field(default_factory=ContestHeads)

    def clear(self) -> None:
        self.books.clear()
        self.standings.clear()
        self.pages.clear()
        self.heads.forget(None)


class EngineUnitOfWork(TradingUnitOfWork):
    contests: ContestsRepository
    teams: TeamsRepository
    pk: PkRepository
    prizes: PrizesRepository
    standings: StandingsRepository
    rules: RulesRepository
    persons: PersonLinks
    signals: SignalRepository
    integrity: IntegrityRepository

    def __init__(
        self, sessions: sessionmaker[Session], *, caches: EngineCaches | None = None
    ) -> None:
        self.caches = caches or EngineCaches()
        super().__init__(sessions, books=self.caches.books)

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.contests = ContestsRepository(session)
        self.teams = TeamsRepository(session)
        self.pk = PkRepository(session)
        self.prizes = PrizesRepository(session)
        self.standings = StandingsRepository(session)
        self.rules = RulesRepository(session)
        self.persons = PersonLinks(session)
        self.signals = SignalRepository(session)
        self.integrity = IntegrityRepository(session)
