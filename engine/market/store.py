"""Persistence of market data: instruments, daily bars, and which ranges were already fetched.

Bars are immutable facts: ``put_bars`` inserts the ones not stored yet and never overwrites.
``price_coverage`` remembers which (symbol, source, date range) a remote source has already
been asked for, because weekends, holidays and suspensions have no bars, so a gap in the bars
does not mean "not fetched".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Insert,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc_now
from core.db import Amount, Base, UtcDateTime, keyset_page
from engine.market.corporate_actions import ActionKind, CorporateAction
from engine.market.model import (
    Bar,
    Board,
    DayRange,
    Instrument,
    Market,
    Symbol,
    UnknownSymbol,
    merge_ranges,
    tidy_price,
)

PRICE = Amount(20, 6)  # exact on SQLite too (scaled integer), NUMERIC on PostgreSQL
# Rows per executemany batch on SQLite.
INSERT_BATCH = 1000


class InstrumentRow(Base):
    __tablename__ = "instruments"
    __table_args__ = (
        CheckConstraint("lot_size > 0", name="positive_lot_size"),
        CheckConstraint("market IN ('US', 'CN')", name="known_market"),
        CheckConstraint(
            "board IN ('main', 'chinext', 'star', 'st', 'beijing')", name="known_board"
        ),
        # instruments(market=…) pages by symbol within a market.
        Index("ix_instruments_market_symbol", "market", "symbol"),
    )

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    market: Mapped[str] = mapped_column(String(8))
    board: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    lot_size: Mapped[int] = mapped_column(Integer)
    sector: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))

    def to_instrument(self) -> Instrument:
        return Instrument(
            symbol=self.symbol,
            name=self.name,
            market=Market(self.market),
            board=Board(self.board),
            currency=self.currency,
            lot_size=self.lot_size,
            sector=self.sector,
            source=self.source,
        )


class PriceBarRow(Base):
    __tablename__ = "price_bars"
    __table_args__ = (
        CheckConstraint("low > 0", name="positive_low"),
        CheckConstraint(
            "low <= open AND low <= close AND high >= open AND high >= close", name="high_low"
        ),
        CheckConstraint("volume >= 0", name="non_negative_volume"),
        # bars_on / trading_days / next_trading_day look bars up by day first.
        Index("ix_price_bars_day_symbol", "day", "symbol"),
    )

    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[Decimal] = mapped_column(PRICE)
    high: Mapped[Decimal] = mapped_column(PRICE)
    low: Mapped[Decimal] = mapped_column(PRICE)
    close: Mapped[Decimal] = mapped_column(PRICE)
    volume: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))


class PriceCoverageRow(Base):
    """An inclusive day range already fetched from ``source`` for ``symbol``; ranges never
    overlap or touch (the repository merges them)."""

    __tablename__ = "price_coverage"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="ordered_range"),)

    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CorporateActionRow(Base):
    """A dividend or split of a symbol on its ex-date (``engine.market.corporate_actions``):
    a fact like a bar, stored once per (symbol, ex-date, kind) and never replaced."""

    __tablename__ = "corporate_actions"
    __table_args__ = (
        UniqueConstraint("symbol", "ex_date", "kind"),
        CheckConstraint("kind IN ('dividend', 'split')", name="known_kind"),
        CheckConstraint(
            "cash_per_share >= 0 AND ratio_numerator > 0 AND ratio_denominator > 0",
            name="positive_terms",
        ),
        # the clock looks actions up by ex-date first.
        Index("ix_corporate_actions_ex_date_symbol", "ex_date", "symbol"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"))
    ex_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    cash_per_share: Mapped[Decimal] = mapped_column(PRICE)
    ratio_numerator: Mapped[int] = mapped_column(Integer)
    ratio_denominator: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)

    def to_action(self) -> CorporateAction:
        return CorporateAction(
            symbol=self.symbol,
            ex_date=self.ex_date,
            kind=ActionKind(self.kind),
            cash_per_share=tidy_price(self.cash_per_share),
            ratio=Fraction(self.ratio_numerator, self.ratio_denominator),
        )


BARS: Table = PriceBarRow.__table__  # type: ignore[assignment]
INSTRUMENTS: Table = InstrumentRow.__table__  # type: ignore[assignment]
BAR_INSERT_COLUMNS = ("symbol", "day", "open", "high", "low", "close", "volume", "source")
STAGING = "price_bars_staging"  # a TEMP table: private to the connection
BAR_COLUMNS = (BARS.c.symbol, BARS.c.day, BARS.c.open, BARS.c.high, BARS.c.low, BARS.c.close)


# ``MarketRepository.instruments_with_closes``, built once.
_INSTRUMENTS_WITH_CLOSES = (
    select(*INSTRUMENTS.c, BARS.c.close)
    .outerjoin(BARS, (BARS.c.symbol == INSTRUMENTS.c.symbol) & (BARS.c.day == bindparam("day")))
    .where(INSTRUMENTS.c.symbol.in_(bindparam("symbols", expanding=True)))
)


def _instrument(row: Any) -> Instrument:
    """The instrument in a plain row of the ``instruments`` table."""
    return Instrument(
        symbol=row.symbol,
        name=row.name,
        market=Market(row.market),
        board=Board(row.board),
        currency=row.currency,
        lot_size=row.lot_size,
        sector=row.sector,
        source=row.source,
    )


def _bar(row: Any) -> Bar:
    return Bar(
        symbol=row.symbol,
        day=row.day,
        open=tidy_price(row.open),
        high=tidy_price(row.high),
        low=tidy_price(row.low),
        close=tidy_price(row.close),
        volume=int(row.volume),
    )


class MarketRepository:
    """Instruments, bars and fetch coverage on one session (the caller's transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- instruments --------------------------------------------------------------------------

    def add_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Insert or update instruments by symbol."""
        rows = [
            {
                "symbol": i.symbol,
                "name": i.name,
                "market": i.market.value,
                "board": i.board.value,
                "currency": i.currency,
                "lot_size": i.lot_size,
                "sector": i.sector,
                "source": i.source,
            }
            for i in instruments
        ]
        for start in range(0, len(rows), INSERT_BATCH):
            stmt = self._insert(INSTRUMENTS)
            stmt = stmt.on_conflict_do_update(
                index_elements=[INSTRUMENTS.c.symbol],
                set_={
                    column: stmt.excluded[column]
                    for column in ("name", "market", "board", "currency", "lot_size", "sector")
                    + ("source",)
                },
            )
            self.session.execute(stmt, rows[start : start + INSERT_BATCH])

    def instrument(self, symbol: Symbol) -> Instrument | None:
        row = self.session.get(InstrumentRow, symbol)
        return None if row is None else row.to_instrument()

    def instruments_of(self, symbols: Iterable[Symbol]) -> dict[Symbol, Instrument]:
        """The stored instruments among ``symbols`` (unknown ones absent), in one query."""
        wanted = list(set(symbols))
        if not wanted:
            return {}
        rows = self.session.scalars(select(InstrumentRow).where(InstrumentRow.symbol.in_(wanted)))
        return {row.symbol: row.to_instrument() for row in rows}

    def instruments_with_closes(
        self, symbols: Iterable[Symbol], day: date, *, described: Collection[Symbol]
    ) -> tuple[dict[Symbol, Instrument], dict[Symbol, Decimal]]:
        """The closes of those of ``symbols`` that traded on ``day`` and the stored instruments
        among them that are also ``described``, in one query (an order batch prices from its
        contest's whole universe and looks up the instruments it trades)."""
        wanted = list(set(symbols))
        if not wanted:
            return {}, {}
        instruments: dict[Symbol, Instrument] = {}
        closes: dict[Symbol, Decimal] = {}
        values = {"symbols": wanted, "day": day}
        for row in self.session.connection().execute(_INSTRUMENTS_WITH_CLOSES, values):
            if row.symbol in described:
                instruments[row.symbol] = _instrument(row)
            if row.close is not None:
                closes[row.symbol] = row.close
        return instruments, closes

    def require_instrument(self, symbol: Symbol) -> Instrument:
        instrument = self.instrument(symbol)
        if instrument is None:
            raise UnknownSymbol(symbol)
        return instrument

    def instruments(
        self,
        *,
        market: Market | None = None,
        after: str | None = None,
        limit: int = 100,
        query: str | None = None,
        symbols: Iterable[Symbol] | None = None,
    ) -> list[Instrument]:
        """Instruments ordered by symbol, the ``limit`` after symbol ``after`` (keyset paging);
        ``query`` keeps those whose symbol starts with it or whose name contains it (either
        case), ``symbols`` those among them (a contest's universe)."""
        stmt = select(InstrumentRow)
        if market is not None:
            stmt = stmt.where(InstrumentRow.market == market.value)
        if query:
            # Symbols are upper case; names compare lower-cased (a Chinese name is its own case).
            wanted = query.strip()
            stmt = stmt.where(
                InstrumentRow.symbol.startswith(wanted.upper(), autoescape=True)
                | func.lower(InstrumentRow.name).contains(wanted.lower(), autoescape=True)
            )
        if symbols is not None:
            stmt = stmt.where(InstrumentRow.symbol.in_(list(symbols)))
        rows, _ = keyset_page(
            self.session, stmt, key=InstrumentRow.symbol, after=after, limit=limit
        )
        return [row.to_instrument() for row in rows]

    # --- bars ---------------------------------------------------------------------------------

    def put_bars(self, bars: Iterable[Bar], *, source: str | None = None) -> int:
        """Store the bars whose (symbol, day) is not stored yet; returns how many were new.

        ``source`` defaults to each bar's instrument source. Stored bars are never replaced.
        """
        sources: dict[Symbol, str] = {}
        rows: list[tuple[Any, ...]] = []
        for bar in bars:
            if source is None and bar.symbol not in sources:
                sources[bar.symbol] = self.require_instrument(bar.symbol).source
            row_source = source or sources[bar.symbol]
            rows.append(
                (
                    bar.symbol,
                    bar.day,
                    bar.open,
                    bar.high,
                    bar.low,
                    bar.close,
                    bar.volume,
                    row_source,
                )
            )
        if not rows:
            return 0
        if self._dialect == "postgresql":
            return self._copy_rows(rows)
        inserted = 0
        stmt = self._insert(BARS).on_conflict_do_nothing(index_elements=[BARS.c.symbol, BARS.c.day])
        for start in range(0, len(rows), INSERT_BATCH):
            batch = [
                dict(zip(BAR_INSERT_COLUMNS, row, strict=True))
                for row in rows[start : start + INSERT_BATCH]
            ]
            # executemany: sqlite3 sums rowcount over the batch, skipped conflicts count 0.
            inserted += self.session.execute(stmt, batch).rowcount  # type: ignore[attr-defined]
        return inserted

    def bars(self, symbol: Symbol, start: date, end: date) -> list[Bar]:
        """The symbol's bars with ``start <= day <= end``, oldest first."""
        stmt = (
            select(*BAR_COLUMNS, BARS.c.volume)
            .where(BARS.c.symbol == symbol, BARS.c.day.between(start, end))
            .order_by(BARS.c.day)
        )
        return [_bar(row) for row in self.session.execute(stmt)]

    def bars_on(self, day: date, symbols: Iterable[Symbol]) -> dict[Symbol, Bar]:
        """The bar of each symbol that traded on ``day`` (symbols without one are absent)."""
        stmt = select(*BAR_COLUMNS, BARS.c.volume).where(
            BARS.c.day == day, BARS.c.symbol.in_(list(symbols))
        )
        return {row.symbol: _bar(row) for row in self.session.execute(stmt)}

    def bars_between(self, symbols: Iterable[Symbol], start: date, end: date) -> list[Bar]:
        """Every bar of ``symbols`` with ``start <= day <= end``, ordered by (day, symbol)."""
        stmt = (
            select(*BAR_COLUMNS, BARS.c.volume)
            .where(BARS.c.symbol.in_(list(symbols)), BARS.c.day.between(start, end))
            .order_by(BARS.c.day, BARS.c.symbol)
        )
        return [_bar(row) for row in self.session.execute(stmt)]

    def trading_days(self, symbols: Iterable[Symbol], start: date, end: date) -> list[date]:
        """Distinct days in ``[start, end]`` on which any of ``symbols`` has a bar, ascending."""
        stmt = (
            select(BARS.c.day)
            .where(BARS.c.symbol.in_(list(symbols)), BARS.c.day.between(start, end))
            .distinct()
            .order_by(BARS.c.day)
        )
        return list(self.session.scalars(stmt))

    def trading_days_before(self, symbols: Iterable[Symbol], day: date, count: int) -> list[date]:
        """The last ``count`` days before ``day`` with a bar of any of ``symbols``, ascending."""
        stmt = (
            select(BARS.c.day)
            .where(BARS.c.symbol.in_(list(symbols)), BARS.c.day < day)
            .distinct()
            .order_by(BARS.c.day.desc())
            .limit(count)
        )
        return sorted(self.session.scalars(stmt))

    def next_trading_day(self, symbols: Iterable[Symbol], after: date) -> date | None:
        """The first day after ``after`` with a bar for any of ``symbols``."""
        stmt = select(func.min(BARS.c.day)).where(
            BARS.c.symbol.in_(list(symbols)), BARS.c.day > after
        )
        return self.session.scalar(stmt)

    def previous_close(self, symbol: Symbol, day: date) -> Decimal | None:
        """The close of the symbol's last bar strictly before ``day``."""
        stmt = (
            select(BARS.c.close)
            .where(BARS.c.symbol == symbol, BARS.c.day < day)
            .order_by(BARS.c.day.desc())
            .limit(1)
        )
        close = self.session.scalar(stmt)
        return None if close is None else tidy_price(close)

    def previous_closes(self, symbols: Iterable[Symbol], day: date) -> dict[Symbol, Decimal]:
        """``previous_close`` for many symbols in one query (symbols with no earlier bar absent)."""
        return {s: close for s, (_, close) in self.previous_closes_dated(symbols, day).items()}

    def previous_closes_dated(
        self, symbols: Iterable[Symbol], day: date
    ) -> dict[Symbol, tuple[date, Decimal]]:
        """``previous_closes`` with the day of each close, in one query."""
        last = (
            select(BARS.c.symbol, func.max(BARS.c.day).label("day"))
            .where(BARS.c.symbol.in_(list(symbols)), BARS.c.day < day)
            .group_by(BARS.c.symbol)
            .subquery()
        )
        stmt = select(BARS.c.symbol, BARS.c.day, BARS.c.close).join(
            last, (BARS.c.symbol == last.c.symbol) & (BARS.c.day == last.c.day)
        )
        return {
            symbol: (bar_day, tidy_price(close))
            for symbol, bar_day, close in self.session.execute(stmt)
        }

    def bar_sources(self, symbol: Symbol) -> set[str]:
        """The sources the symbol's stored bars came from."""
        stmt = select(BARS.c.source).where(BARS.c.symbol == symbol).distinct()
        return set(self.session.scalars(stmt))

    # --- coverage -----------------------------------------------------------------------------

    def coverage(self, symbol: Symbol, source: str) -> list[DayRange]:
        """Inclusive day ranges already fetched for ``symbol`` from ``source``, ascending."""
        stmt = (
            select(PriceCoverageRow.first_day, PriceCoverageRow.last_day)
            .where(PriceCoverageRow.symbol == symbol, PriceCoverageRow.source == source)
            .order_by(PriceCoverageRow.first_day)
        )
        return [(first, last) for first, last in self.session.execute(stmt)]

    def add_coverage(
        self, symbol: Symbol, source: str, ranges: Sequence[DayRange], *, at: datetime
    ) -> None:
        """Record ``ranges`` as fetched, merged with the stored ranges they overlap or touch."""
        # Serialise concurrent fetches of one symbol (PostgreSQL; SQLite writers already are).
        self.session.execute(
            select(InstrumentRow.symbol).where(InstrumentRow.symbol == symbol).with_for_update()
        )
        merged = merge_ranges([*self.coverage(symbol, source), *ranges])
        self.session.execute(
            delete(PriceCoverageRow).where(
                PriceCoverageRow.symbol == symbol, PriceCoverageRow.source == source
            )
        )
        self.session.add_all(
            PriceCoverageRow(
                symbol=symbol, source=source, first_day=first, last_day=last, fetched_at=at
            )
            for first, last in merged
        )
        self.session.flush()

    # --- corporate actions --------------------------------------------------------------------

    def put_actions(self, actions: Iterable[CorporateAction], *, source: str) -> int:
        """Store the actions whose (symbol, ex-date, kind) is not stored yet; returns how many
        were new. Stored actions are never replaced (an applied one must not change)."""
        rows = [
            {
                "symbol": a.symbol,
                "ex_date": a.ex_date,
                "kind": a.kind.value,
                "cash_per_share": a.cash_per_share,
                "ratio_numerator": a.ratio.numerator,
                "ratio_denominator": a.ratio.denominator,
                "source": source,
                "created_at": utc_now(),
            }
            for a in actions
        ]
        for symbol in sorted({str(row["symbol"]) for row in rows}):
            self.require_instrument(symbol)
        inserted = 0
        table: Table = CorporateActionRow.__table__  # type: ignore[assignment]
        for row in rows:  # a handful per symbol and year: one statement each is fine
            stmt = (
                self._insert(table)
                .values(**row)
                .on_conflict_do_nothing(
                    index_elements=[table.c.symbol, table.c.ex_date, table.c.kind]
                )
                .returning(table.c.id)
            )
            inserted += len(self.session.execute(stmt).all())
        return inserted

    def actions_between(
        self, symbols: Iterable[Symbol], after: date, through: date
    ) -> list[tuple[int, CorporateAction]]:
        """(id, action) of ``symbols`` with ``after < ex_date <= through``, by ex-date, then
        dividends before splits (a same-day dividend is per share held before the split)."""
        wanted = list(set(symbols))
        if not wanted:
            return []
        c = CorporateActionRow
        stmt = (
            select(c)
            .where(c.ex_date > after, c.ex_date <= through, c.symbol.in_(wanted))
            .order_by(c.ex_date, c.symbol, c.kind, c.id)  # 'dividend' < 'split'
        )
        return [(row.id, row.to_action()) for row in self.session.scalars(stmt)]

    def actions_by_id(self, ids: Iterable[int]) -> dict[int, CorporateAction]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(CorporateActionRow).where(CorporateActionRow.id.in_(wanted))
        )
        return {row.id: row.to_action() for row in rows}

    def actions_of(self, symbol: Symbol) -> list[CorporateAction]:
        """The symbol's stored actions, by ex-date."""
        c = CorporateActionRow
        rows = self.session.scalars(select(c).where(c.symbol == symbol).order_by(c.ex_date, c.kind))
        return [row.to_action() for row in rows]

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _copy_rows(self, rows: list[tuple[Any, ...]]) -> int:
        """PostgreSQL: COPY into a session-private staging table, then one INSERT … SELECT …
        ON CONFLICT DO NOTHING (several times faster than multi-row VALUES for 100k bars)."""
        import psycopg

        driver = self.session.connection().connection.driver_connection
        if driver is None:  # pragma: no cover - a pooled connection always has one
            raise RuntimeError("no DBAPI connection behind the session")
        with driver.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (LIKE price_bars) ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"TRUNCATE {STAGING}")
            columns = ", ".join(BAR_INSERT_COLUMNS)
            with cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            statement = (
                f"INSERT INTO price_bars ({columns}) SELECT {columns} FROM {STAGING} "
                "ON CONFLICT (symbol, day) DO NOTHING"
            )
            try:
                cursor.execute(statement)
            except psycopg.IntegrityError as error:  # same exception as the ORM path raises
                raise IntegrityError(statement, None, error) from error
            return int(cursor.rowcount)

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_*`` (both dialects spell it alike)."""
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        insert: Insert = dialect.insert(table)
        return insert
