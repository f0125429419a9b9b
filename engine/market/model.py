"""Market-data records: instruments and daily OHLCV bars, and the errors of price sources.

Prices are ``Decimal`` (stored as NUMERIC); volumes are whole shares. A bar's ``day`` is the
exchange-local trading date it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.errors import NotFound, RuleViolation, Unavailable

Symbol = str
ONE_DAY = timedelta(days=1)
CENT = Decimal("0.01")
BASIS = Decimal("0.0001")


class Market(StrEnum):
    US = "US"
    CN = "CN"


class Board(StrEnum):
    """Listing board; for CN it picks the price limit (main ±10%, ChiNext/STAR ±20%, Beijing
    ±30%, ST ±5%). ``ST`` is a special-treatment stock of a Shanghai or Shenzhen main board:
    ST stocks of ChiNext and STAR keep their board's ±20% (SZSE and SSE rules since 2020) and
    Beijing's keep ±30%, so they stay on their board (see ``cn_board``)."""

    MAIN = "main"
    CHINEXT = "chinext"
    STAR = "star"
    ST = "st"
    BEIJING = "beijing"


CURRENCY = {Market.US: "USD", Market.CN: "CNY"}
LOT_SIZE = {Market.US: 1, Market.CN: 100}


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: Symbol
    name: str
    market: Market
    board: Board = Board.MAIN
    currency: str = "USD"
    lot_size: int = 1
    sector: str = ""
    source: str = "synthetic"


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: Symbol
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


class PriceSource(Protocol):
    """Anything that can produce daily bars for a symbol over an inclusive date range."""

    name: str

    def daily_bars(self, symbol: Symbol, start: date, end: date) -> list[Bar]: ...


@runtime_checkable
class DescribesInstruments(Protocol):
    """A price source that can also name what it priced (used for symbols not yet stored)."""

    def describe(self, symbol: Symbol) -> Instrument | None: ...


class UnknownSymbol(NotFound):
    slug = "unknown-symbol"
    title = "Unknown symbol"

    def __init__(self, symbol: Symbol, detail: str | None = None) -> None:
        message = detail or f"no instrument or price data for symbol {symbol!r}"
        super().__init__(message, symbol=symbol)
        self.symbol = symbol


class MarketDataUnavailable(Unavailable):
    """The source could not deliver (rate limited after retries, network down)."""

    slug = "market-data-unavailable"
    title = "Market data unavailable"

    def __init__(self, symbol: Symbol, detail: str) -> None:
        super().__init__(f"{symbol}: {detail}", symbol=symbol)
        self.symbol = symbol


class InvalidBars(RuleViolation):
    """Imported bars break a rule: dates not increasing, high < low, NaN, non-positive price."""

    def __init__(self, detail: str, *, rule: str, row: int | None = None) -> None:
        super().__init__(detail, field="bars", rule=rule)
        self.row = row


DayRange = tuple[date, date]
"""An inclusive range of days ``(first, last)``."""


def merge_ranges(ranges: Iterable[DayRange]) -> list[DayRange]:
    """Union of inclusive day ranges: sorted, with overlapping or adjacent ranges joined."""
    merged: list[DayRange] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def missing_ranges(covered: Iterable[DayRange], start: date, end: date) -> list[DayRange]:
    """The parts of ``[start, end]`` that no range in ``covered`` contains, ascending."""
    missing: list[DayRange] = []
    cursor = start
    for first, last in merge_ranges(covered):
        if last < cursor:
            continue
        if first > end:
            break
        if first > cursor:
            missing.append((cursor, first - ONE_DAY))
        cursor = last + ONE_DAY
        if cursor > end:
            return missing
    if cursor <= end:
        missing.append((cursor, end))
    return missing


def tidy_price(value: Decimal) -> Decimal:
    """``value`` with trailing zeros trimmed to 2 or 4 places when that loses nothing
    (``Decimal("12.300000")`` → ``12.30``), so prices read the same whatever their source."""
    for places in (CENT, BASIS):
        shorter = value.quantize(places)
        if shorter == value:
            return shorter
    return value


def check_bar(bar: Bar, *, previous: Bar | None = None, row: int | None = None) -> None:
    """Raise ``InvalidBars`` when ``bar`` breaks a rule; ``previous`` is the bar before it.

    Rules: ``no_nan`` (every price finite), ``positive_price``, ``high_low`` (low ≤ open, close
    ≤ high), ``volume`` (a whole number ≥ 0), ``monotonic_dates`` (days strictly increasing).
    """
    where = f"row {row}" if row is not None else f"{bar.symbol} {bar.day.isoformat()}"
    prices = {"open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close}
    for name, price in prices.items():
        if not price.is_finite():
            raise InvalidBars(f"{where}: {name} is {price}", rule="no_nan", row=row)
    for name, price in prices.items():
        if price <= 0:
            raise InvalidBars(
                f"{where}: {name} {price} is not positive", rule="positive_price", row=row
            )
    if not (bar.low <= min(bar.open, bar.close) and max(bar.open, bar.close) <= bar.high):
        raise InvalidBars(
            f"{where}: need low ≤ open, close ≤ high, got open {bar.open} high {bar.high} "
            f"low {bar.low} close {bar.close}",
            rule="high_low",
            row=row,
        )
    if bar.volume < 0:
        raise InvalidBars(f"{where}: volume {bar.volume} is negative", rule="volume", row=row)
    if previous is not None and bar.day <= previous.day:
        raise InvalidBars(
            f"{where}: date {bar.day.isoformat()} does not follow {previous.day.isoformat()}",
            rule="monotonic_dates",
            row=row,
        )


def check_bars(bars: Iterable[Bar]) -> None:
    """``check_bar`` over a series of one symbol's bars, oldest first."""
    previous: Bar | None = None
    for bar in bars:
        check_bar(bar, previous=previous)
        previous = bar


# Yahoo suffixes of mainland exchanges: Shanghai, Shenzhen, Beijing.
CN_SUFFIXES = (".SS", ".SZ", ".BJ")


# "ST" or "*ST" not followed by a Latin letter: ST康美, *ST 中华, but not Steel Corp or Star One.
_ST_NAME = re.compile(r"\*?ST(?![A-Za-z])")
# Code prefixes of each board (SSE, SZSE and BSE numbering).
_CN_CODE_PREFIXES = (
    (Board.STAR, ("688", "689")),
    (Board.CHINEXT, ("300", "301")),
    (Board.BEIJING, ("920", "8", "4")),
    (Board.MAIN, ("600", "601", "603", "605", "000", "001", "002", "003")),
)


def special_treatment_name(name: str) -> bool:
    """Whether an A-share name marks special treatment: it starts "ST" or "*ST" (case as
    the exchanges print it) and no Latin letter follows, so "ST康美" and "*ST 中华" are ST
    and "Steel Corp" and "Star One" are not."""
    return _ST_NAME.match(name.strip()) is not None


def cn_board(code: str, name: str = "", *, special_treatment: bool | None = None) -> Board:
    """The board of a 6-digit A-share code: Shanghai main 600/601/603/605, Shenzhen main
    000/001/002/003, ChiNext 300/301, STAR 688/689, Beijing 8xxxxx/4xxxxx/920xxx (any other
    code counts as main board).

    Special treatment is ``special_treatment`` when given, else read from ``name``
    (``special_treatment_name``). It makes a main-board stock ``Board.ST`` (±5%); ChiNext,
    STAR and Beijing stocks keep their board's band whether ST or not.
    """
    board = next((b for b, prefixes in _CN_CODE_PREFIXES if code.startswith(prefixes)), Board.MAIN)
    st = special_treatment_name(name) if special_treatment is None else special_treatment
    return Board.ST if st and board is Board.MAIN else board


def instrument_for(
    symbol: Symbol,
    *,
    source: str,
    name: str | None = None,
    sector: str = "",
    special_treatment: bool | None = None,
) -> Instrument:
    """An instrument inferred from a Yahoo-style symbol: ``600519.SS`` is CN (CNY, lots of
    100, board from the code and ``special_treatment`` or the name, see ``cn_board``),
    anything else US (USD, lot 1)."""
    if symbol.upper().endswith(CN_SUFFIXES):
        code = symbol.split(".", 1)[0]
        return Instrument(
            symbol=symbol,
            name=name or symbol,
            market=Market.CN,
            board=cn_board(code, name or "", special_treatment=special_treatment),
            currency=CURRENCY[Market.CN],
            lot_size=LOT_SIZE[Market.CN],
            sector=sector,
            source=source,
        )
    return Instrument(
        symbol=symbol,
        name=name or symbol,
        market=Market.US,
        currency=CURRENCY[Market.US],
        lot_size=LOT_SIZE[Market.US],
        sector=sector,
        source=source,
    )
