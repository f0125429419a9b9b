"""The trading unit of work: accounts, orders and market data on one transaction, with the
ledger (referral rewards) on the same one."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from engine.market.store import MarketRepository
from engine.market.store_intraday import MinuteBarRepository
from engine.trading.books_cache import BooksCache
from engine.trading.store_accounts import TradingRepository
from ledger.services import LedgerUnitOfWork


class TradingUnitOfWork(LedgerUnitOfWork):
    """``books`` is the process's cache of the clock's books: pass the one the app (or the
    season simulation) owns; without one, this unit of work keeps its own."""

    trading: TradingRepository
    market: MarketRepository
    minutes: MinuteBarRepository

    def __init__(self, sessions: sessionmaker[Session], *, books: BooksCache | None = None):
        super().__init__(sessions)
        self.books = books or BooksCache()

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.trading = TradingRepository(session)
        self.market = MarketRepository(session)
        self.minutes = MinuteBarRepository(session)

    def source(self) -> str:
        """The database this unit of work talks to (the key of process-local caches)."""
        return self.session.get_bind().engine.url.render_as_string(hide_password=True)
