"""Persistence of minute bars (``minute_bars``): immutable facts, one per (symbol, start).

Each row also keeps the exchange-local ``day`` the minute belongs to, so a day's minutes (a
tape's replay, the derivation of its daily bar) are one indexed range read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import as_utc
from core.db import Base, UtcDateTime
from engine.market.feeds import MinuteBar
from engine.market.model import Symbol, tidy_price
from engine.market.store import INSERT_BATCH, PRICE


class MinuteBarRow(Base):
    __tablename__ = "minute_bars"
    __table_args__ = (
        CheckConstraint("low > 0", name="positive_low"),
        CheckConstraint(
            "low <= open AND low <= close AND high >= open AND high >= close", name="high_low"
        ),
        CheckConstraint("volume >= 0", name="non_negative_volume"),
        # A day's minutes of a universe: the tape's replay and the daily derivation.
        Index("ix_minute_bars_day_symbol", "day", "symbol"),
    )

    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    open: Mapped[Decimal] = mapped_column(PRICE)
    high: Mapped[Decimal] = mapped_column(PRICE)
    low: Mapped[Decimal] = mapped_column(PRICE)
    close: Mapped[Decimal] = mapped_column(PRICE)
    volume: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))


MINUTES: Table = MinuteBarRow.__table__  # type: ignore[assignment]
_COLUMNS = (MINUTES.c.symbol, MINUTES.c.start, MINUTES.c.open, MINUTES.c.high, MINUTES.c.low)


def _minute(row: Any) -> MinuteBar:
    return MinuteBar(
        symbol=row.symbol,
        start=row.start,
        open=tidy_price(row.open),
        high=tidy_price(row.high),
        low=tidy_price(row.low),
        close=tidy_price(row.close),
        volume=int(row.volume),
    )


class MinuteBarRepository:
    """Minute bars on one session (the caller's transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put_minute_bars(
        self, bars: Iterable[MinuteBar], *, local_day: Callable[[MinuteBar], date], source: str
    ) -> int:
        """Store the bars whose (symbol, start) is not stored yet; returns how many were new.
        ``local_day`` names each bar's exchange-local day. Stored bars are never replaced."""
        rows = [
            {
                "symbol": b.symbol,
                "start": b.start,
                "day": local_day(b),
                "open": b.open,
                "high": b.high,
                "low": b.low,
                "close": b.close,
                "volume": b.volume,
                "source": source,
            }
            for b in bars
        ]
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(MINUTES)
            .on_conflict_do_nothing(index_elements=[MINUTES.c.symbol, MINUTES.c.start])
            .returning(MINUTES.c.symbol)
        )
        inserted = 0
        for first in range(0, len(rows), INSERT_BATCH):
            # executemany with RETURNING (insertmanyvalues): the new rows, on both databases.
            inserted += len(self.session.execute(stmt, rows[first : first + INSERT_BATCH]).all())
        return inserted

    def minute_bars(
        self, symbols: Sequence[Symbol], since: datetime, until: datetime
    ) -> list[MinuteBar]:
        """Bars of ``symbols`` with ``since <= start < until``, ordered by (start, symbol)."""
        stmt = (
            select(*_COLUMNS, MINUTES.c.close, MINUTES.c.volume)
            .where(
                MINUTES.c.symbol.in_(list(symbols)),
                MINUTES.c.start >= since,
                MINUTES.c.start < until,
            )
            .order_by(MINUTES.c.start, MINUTES.c.symbol)
        )
        return [_minute(row) for row in self.session.execute(stmt)]

    def last_minute_bar(self, symbol: Symbol, before: datetime) -> MinuteBar | None:
        """The symbol's last stored minute starting before ``before`` (its primary key's order)."""
        stmt = (
            select(*_COLUMNS, MINUTES.c.close, MINUTES.c.volume)
            .where(MINUTES.c.symbol == symbol, MINUTES.c.start < before)
            .order_by(MINUTES.c.start.desc())
            .limit(1)
        )
        row = self.session.execute(stmt).first()
        return None if row is None else _minute(row)

    def minute_and_last_before(
        self, symbols: Sequence[Symbol], day: date, minute: datetime
    ) -> tuple[dict[Symbol, MinuteBar], dict[Symbol, MinuteBar]]:
        """The bars of ``symbols`` starting at ``minute``, and each symbol's last bar of
        exchange-local ``day`` before it: what one intraday tick reads (bounded, so a session's
        ticks never re-read the session)."""
        wanted = list(symbols)
        at = select(*_COLUMNS, MINUTES.c.close, MINUTES.c.volume).where(
            MINUTES.c.symbol.in_(wanted), MINUTES.c.start == minute
        )
        last = (
            select(MINUTES.c.symbol, func.max(MINUTES.c.start).label("last"))
            .where(MINUTES.c.symbol.in_(wanted), MINUTES.c.day == day, MINUTES.c.start < minute)
            .group_by(MINUTES.c.symbol)
            .subquery()
        )
        before = select(*_COLUMNS, MINUTES.c.close, MINUTES.c.volume).join(
            last, (MINUTES.c.symbol == last.c.symbol) & (MINUTES.c.start == last.c.last)
        )
        now = {bar.symbol: bar for bar in map(_minute, self.session.execute(at))}
        earlier = {bar.symbol: bar for bar in map(_minute, self.session.execute(before))}
        return now, earlier

    def minute_bars_of_day(self, symbols: Sequence[Symbol], day: date) -> list[MinuteBar]:
        """Every stored minute of ``symbols`` on exchange-local ``day``, by (start, symbol)."""
        stmt = (
            select(*_COLUMNS, MINUTES.c.close, MINUTES.c.volume)
            .where(MINUTES.c.symbol.in_(list(symbols)), MINUTES.c.day == day)
            .order_by(MINUTES.c.start, MINUTES.c.symbol)
        )
        return [_minute(row) for row in self.session.execute(stmt)]

    def days_with_minutes(self, symbols: Sequence[Symbol], start: date, end: date) -> list[date]:
        """Distinct exchange-local days in ``[start, end]`` with minutes of ``symbols``."""
        stmt = (
            select(MINUTES.c.day)
            .where(MINUTES.c.symbol.in_(list(symbols)), MINUTES.c.day.between(start, end))
            .distinct()
            .order_by(MINUTES.c.day)
        )
        return list(self.session.scalars(stmt))

    def last_starts(self, symbols: Sequence[Symbol]) -> dict[Symbol, datetime]:
        """The start of each symbol's latest stored minute (symbols without one are absent)."""
        stmt = (
            select(MINUTES.c.symbol, func.max(MINUTES.c.start).label("last"))
            .where(MINUTES.c.symbol.in_(list(symbols)))
            .group_by(MINUTES.c.symbol)
        )
        return {row.symbol: as_utc(row.last) for row in self.session.execute(stmt)}

    def sources_of(self, symbols: Sequence[Symbol], day: date) -> dict[Symbol, str]:
        """The source of each symbol's minutes on ``day`` (one source per symbol and day)."""
        stmt = (
            select(MINUTES.c.symbol, MINUTES.c.source)
            .where(MINUTES.c.symbol.in_(list(symbols)), MINUTES.c.day == day)
            .distinct()
        )
        return {row.symbol: row.source for row in self.session.execute(stmt)}
