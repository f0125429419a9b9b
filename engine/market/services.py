"""Market-data use cases: cache bars from a remote source, import a CSV, install a synthetic
market.

``ensure_bars`` never holds a database transaction across a network call: per symbol it reads
what is covered, fetches the missing span outside any transaction, then stores the bars and
the newly covered range in one short write transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from core.clock import utc_now
from core.errors import Conflict, DomainError
from core.uow import UnitOfWork
from engine.market.corporate_actions import CorporateAction
from engine.market.csv_actions import parse_actions
from engine.market.csv_import import parse_bars
from engine.market.model import (
    CURRENCY,
    LOT_SIZE,
    ONE_DAY,
    Board,
    DayRange,
    DescribesInstruments,
    Instrument,
    Market,
    PriceSource,
    Symbol,
    instrument_for,
    missing_ranges,
)
from engine.market.store import MarketRepository
from engine.market.store_intraday import MinuteBarRepository
from engine.market.synthetic import SyntheticMarket, synthetic_universe

CSV_SOURCE = "csv"
SYNTHETIC_SOURCE = SyntheticMarket.name


class MarketUnitOfWork(UnitOfWork):
    market: MarketRepository
    minutes: MinuteBarRepository

    def _bind(self, session: Session) -> None:
        self.market = MarketRepository(session)
        self.minutes = MinuteBarRepository(session)


@dataclass(frozen=True, slots=True)
class SymbolFetch:
    """What ``ensure_bars`` did for one symbol: the span it asked the source for (``None``
    when everything was cached), how many new bars it stored, or the error it met."""

    symbol: Symbol
    requested: DayRange | None = None
    stored: int = 0
    error: DomainError | None = None


@dataclass(frozen=True, slots=True)
class FetchReport:
    source: str
    results: tuple[SymbolFetch, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(result.error is None for result in self.results)

    @property
    def failures(self) -> dict[Symbol, DomainError]:
        return {r.symbol: r.error for r in self.results if r.error is not None}

    @property
    def stored(self) -> int:
        return sum(result.stored for result in self.results)

    @property
    def requests(self) -> int:
        """How many times the source was asked for bars."""
        return sum(result.requested is not None for result in self.results)


def ensure_bars(
    uow: MarketUnitOfWork,
    source: PriceSource,
    symbols: Iterable[Symbol],
    start: date,
    end: date,
    *,
    today: date | None = None,
) -> FetchReport:
    """Make the bars of ``symbols`` over ``[start, end]`` available from storage.

    Asks ``source`` only for days not fetched from it before (one request per symbol, from
    the first to the last missing day), stores every new bar and records the span as
    covered, so weekends and holidays are not asked for again. Days from ``today`` (UTC
    date by default) on are neither stored nor covered: their bars may still change. A
    symbol's failure is reported in its ``SymbolFetch`` and the other symbols go on.
    """
    if end < start:
        raise ValueError("end is before start")
    settled_end = min(end, (today or utc_now().date()) - ONE_DAY)
    results = []
    for symbol in dict.fromkeys(symbols):
        try:
            results.append(_ensure_symbol(uow, source, symbol, start, settled_end))
        except DomainError as error:
            results.append(SymbolFetch(symbol, error=error))
    return FetchReport(source=source.name, results=tuple(results))


def _ensure_symbol(
    uow: MarketUnitOfWork, source: PriceSource, symbol: Symbol, start: date, end: date
) -> SymbolFetch:
    with uow.reading():
        known = uow.market.instrument(symbol)
        missing = missing_ranges(uow.market.coverage(symbol, source.name), start, end)
        if missing:
            _refuse_mixed_sources(uow.market, symbol, source.name)
    if not missing:
        return SymbolFetch(symbol)
    span = (missing[0][0], missing[-1][1])
    try:
        fetched = source.daily_bars(symbol, *span)
    except DomainError as error:
        return SymbolFetch(symbol, requested=span, error=error)
    bars = [bar for bar in fetched if span[0] <= bar.day <= span[1]]
    with uow:
        if known is None:
            uow.market.add_instruments([_describe(source, symbol)])
        stored = uow.market.put_bars(bars, source=source.name)
        uow.market.add_coverage(symbol, source.name, [span], at=utc_now())
        uow.commit()
    return SymbolFetch(symbol, requested=span, stored=stored)


def import_csv(
    uow: MarketUnitOfWork,
    text_or_path: str | Path,
    *,
    symbol: Symbol,
    market: Market,
    name: str | None = None,
    board: Board = Board.MAIN,
    sector: str = "",
    lot_size: int | None = None,
    currency: str | None = None,
) -> int:
    """Store the bars of a CSV file (a ``Path``, or a ``str`` path without newlines) or CSV
    text, creating or updating ``symbol``'s instrument; returns how many bars were new.

    All or nothing: one invalid row (``InvalidBars``) stores nothing. Bars already stored
    for the symbol are kept as they are.
    """
    bars = parse_bars(_csv_text(text_or_path), symbol=symbol)
    instrument = Instrument(
        symbol=symbol,
        name=name or symbol,
        market=market,
        board=board,
        currency=currency or CURRENCY[market],
        lot_size=lot_size or LOT_SIZE[market],
        sector=sector,
        source=CSV_SOURCE,
    )
    with uow:
        existing = uow.market.instrument(symbol)
        if existing is not None:  # keep the stored name and sector unless new ones are given
            instrument = dataclasses.replace(
                instrument,
                name=name or existing.name,
                sector=sector or existing.sector,
            )
        _refuse_mixed_sources(uow.market, symbol, CSV_SOURCE)
        uow.market.add_instruments([instrument])
        stored = uow.market.put_bars(bars, source=CSV_SOURCE)
        uow.commit()
    return stored


def import_actions_csv(uow: MarketUnitOfWork, text_or_path: str | Path) -> int:
    """Store the corporate actions of a CSV file or text (``engine.market.csv_actions``);
    returns how many were new. All or nothing: an invalid row or an unknown symbol stores
    nothing; actions already stored are kept as they are."""
    actions = parse_actions(_csv_text(text_or_path))
    return store_actions(uow, actions, source=CSV_SOURCE)


def store_actions(uow: MarketUnitOfWork, actions: Iterable[CorporateAction], *, source: str) -> int:
    """Store ``actions`` (their symbols must be known instruments); returns how many were new."""
    with uow:
        stored = uow.market.put_actions(actions, source=source)
        uow.commit()
    return stored


def install_synthetic(
    uow: MarketUnitOfWork,
    market: Market,
    *,
    count: int,
    seed: int,
    start: date,
    days: int,
) -> list[Instrument]:
    """Generate a synthetic universe and its bars (see ``engine.market.synthetic``) and store
    both; running it again with the same arguments stores nothing new."""
    instruments = synthetic_universe(market, count, seed=seed)
    bars = SyntheticMarket(instruments, seed=seed, start=start, days=days).all_bars()
    with uow:
        uow.market.add_instruments(instruments)
        uow.market.put_bars(bars, source=SYNTHETIC_SOURCE)
        uow.commit()
    return instruments


def _describe(source: PriceSource, symbol: Symbol) -> Instrument:
    """The source's description of a symbol not stored yet, else one inferred from it."""
    described = source.describe(symbol) if isinstance(source, DescribesInstruments) else None
    return described or instrument_for(symbol, source=source.name)


def _refuse_mixed_sources(repository: MarketRepository, symbol: Symbol, source: str) -> None:
    """Bars of one symbol come from one source: adjusted and as-traded prices never mix."""
    others = repository.bar_sources(symbol) - {source}
    if others:
        raise Conflict(
            f"{symbol}: stored bars come from {', '.join(sorted(others))}, not {source}; "
            "bars of different sources are not mixed",
            symbol=symbol,
        )


def _csv_text(text_or_path: str | Path) -> str:
    if isinstance(text_or_path, Path) or "\n" not in text_or_path:
        return Path(text_or_path).read_text(encoding="utf-8-sig")
    return text_or_path
