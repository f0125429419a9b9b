"""The intraday phase's unit of work: the engine's, with a minute store that keeps each
session's decoded minutes between transactions.

Why: ``engine.intraday_clock.run_intraday_tick`` reads every stored minute of the session's
day on each tick and keeps those up to the ticked one, so a session of ``n`` minutes decodes
``n²`` rows (a 240-minute session of ten symbols: 576,000 rows, about 25 s on this machine),
which a season simulation cannot afford. Minute bars are immutable facts (stored once, never
replaced or deleted), so a day's bars whose count in this transaction equals the count kept
are the bars kept: each read costs one indexed count, and a changed count reads the day again.
The tick's service path is unchanged; only the repository it reads through remembers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine.market.feeds import MinuteBar
from engine.market.model import Symbol
from engine.market.store_intraday import MINUTES, MinuteBarRepository
from engine.uow import EngineCaches, EngineUnitOfWork

DayKey = tuple[tuple[Symbol, ...], date]


class RememberedMinutes(MinuteBarRepository):
    """``minute_bars_of_day`` from ``kept`` while the day's row count is unchanged."""

    def __init__(self, session: Session, kept: dict[DayKey, list[MinuteBar]]) -> None:
        super().__init__(session)
        self._kept = kept

    def minute_bars_of_day(self, symbols: Sequence[Symbol], day: date) -> list[MinuteBar]:
        key = (tuple(symbols), day)
        count = self.session.execute(
            select(func.count())
            .select_from(MINUTES)
            .where(MINUTES.c.symbol.in_(list(symbols)), MINUTES.c.day == day)
        ).scalar_one()
        kept = self._kept.get(key)
        if kept is None or len(kept) != count:
            kept = self._kept[key] = super().minute_bars_of_day(symbols, day)
        return list(kept)


class IntradayUnitOfWork(EngineUnitOfWork):
    """An ``EngineUnitOfWork`` whose ``minutes`` is a ``RememberedMinutes``."""

    def __init__(self, sessions: sessionmaker[Session], *, caches: EngineCaches) -> None:
        self._days: dict[DayKey, list[MinuteBar]] = {}
        super().__init__(sessions, caches=caches)

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.minutes = RememberedMinutes(session, self._days)
