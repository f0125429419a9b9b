"""Daily bars from CSV: ``date, open, high, low, close, volume`` (any case, any column order).

An ``adj close`` column and other extra columns are ignored. Numbers are parsed as ``Decimal``
straight from the text (never through float) and prices kept to 6 places, the storage scale.
Every row is checked (``engine.market.model.check_bar``); the first broken rule raises
``InvalidBars`` naming the file line (the header is line 1) and the rule.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from engine.market.model import Bar, InvalidBars, Symbol, check_bar

REQUIRED = ("date", "open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")
STORED_PLACES = Decimal("0.000001")
MAX_PRICE = Decimal(10) ** 14  # NUMERIC(20, 6)
MISSING = {"", "nan", "null", "none", "n/a", "na", "-"}


def parse_bars(text: str, *, symbol: Symbol) -> list[Bar]:
    """The bars of ``symbol`` in CSV ``text``, oldest first; raises ``InvalidBars``."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise InvalidBars("the file is empty", rule="no_rows", row=None)
    columns = _columns(header)
    bars: list[Bar] = []
    previous: Bar | None = None
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        row = reader.line_num
        values = {
            name: cells[index].strip() if index < len(cells) else ""
            for name, index in columns.items()
        }
        bar = Bar(
            symbol=symbol,
            day=_day(values["date"], row),
            open=_price(values["open"], "open", row),
            high=_price(values["high"], "high", row),
            low=_price(values["low"], "low", row),
            close=_price(values["close"], "close", row),
            volume=_volume(values["volume"], row),
        )
        check_bar(bar, previous=previous, row=row)
        bars.append(bar)
        previous = bar
    if not bars:
        raise InvalidBars("the file has a header but no bars", rule="no_rows", row=None)
    return bars


def _columns(header: list[str]) -> dict[str, int]:
    positions = {name.strip().lower(): index for index, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in positions]
    if missing:
        raise InvalidBars(
            f"row 1: missing column(s) {', '.join(missing)}; need {', '.join(REQUIRED)}",
            rule="columns",
            row=1,
        )
    return {name: positions[name] for name in REQUIRED}


def _day(text: str, row: int) -> date:
    if text.lower() in MISSING:
        raise InvalidBars(f"row {row}: date is empty", rule="no_nan", row=row)
    # Accept a timestamp whose date part comes first ("2024-01-02 00:00:00-05:00").
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidBars(
            f"row {row}: date {text!r} is not YYYY-MM-DD", rule="date", row=row
        ) from None


def _number(text: str, column: str, row: int) -> Decimal:
    if text.lower() in MISSING:
        raise InvalidBars(f"row {row}: {column} is empty", rule="no_nan", row=row)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidBars(
            f"row {row}: {column} {text!r} is not a number", rule="number", row=row
        ) from None
    if not value.is_finite():
        raise InvalidBars(f"row {row}: {column} is {text}", rule="no_nan", row=row)
    return value


def _price(text: str, column: str, row: int) -> Decimal:
    value = _number(text, column, row)
    if abs(value) >= MAX_PRICE:
        raise InvalidBars(f"row {row}: {column} {text} is out of range", rule="number", row=row)
    rounded = value.quantize(STORED_PLACES, ROUND_HALF_UP)
    return value if rounded == value else rounded


def _volume(text: str, row: int) -> int:
    value = _number(text, "volume", row)
    if value != value.to_integral_value():
        raise InvalidBars(f"row {row}: volume {text} is not a whole number", rule="volume", row=row)
    return int(value)
