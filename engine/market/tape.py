"""A recorded tape: replay stored minute bars (from the database or a CSV) as a quote feed,
at any speed.

Paced (``started_at`` given), the tape's clock runs ``speed`` times the wall clock from the
first recorded minute: at wall time ``w`` it stands at ``first + (w - started_at) × speed``
and ``poll`` hands out only the bars that have ended by then, as a live feed would. Unpaced,
every recorded bar is available at once (replaying a day as fast as it is polled).

CSV: a header ``symbol,start,open,high,low,close,volume`` (any order, any case), ``start``
ISO-8601 with its UTC offset; prices are read as ``Decimal`` from the text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from core.clock import utc_now
from engine.market.feeds import FeedBatch, MinuteBar
from engine.market.intraday import check_minute_bar
from engine.market.model import InvalidBars, Symbol
from engine.market.store_intraday import MinuteBarRepository

CSV_COLUMNS = ("symbol", "start", "open", "high", "low", "close", "volume")


class RecordedTape:
    """A quote feed over recorded minute bars (any order; kept by (start, symbol))."""

    delay = timedelta(0)

    def __init__(
        self,
        bars: Sequence[MinuteBar],
        *,
        speed: float = 1.0,
        started_at: datetime | None = None,
        clock: Callable[[], datetime] = utc_now,
        name: str = "tape",
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.name = name
        self.bars = sorted(bars, key=lambda b: (b.start, b.symbol))
        self.symbols = frozenset(b.symbol for b in self.bars)
        self.speed = speed
        self.started_at = started_at
        self._clock = clock

    def tape_now(self) -> datetime | None:
        """Where the paced tape's clock stands (``None``: unpaced, everything is out)."""
        if self.started_at is None or not self.bars:
            return None
        elapsed = (self._clock() - self.started_at) * self.speed
        return self.bars[0].start + elapsed

    def poll(self, symbols: Sequence[Symbol], since: datetime, until: datetime) -> FeedBatch:
        """Recorded bars with ``since <= start < until`` that have ended on the tape's clock."""
        now = self.tape_now()
        wanted = set(symbols)
        bars = [
            b
            for b in self.bars
            if b.symbol in wanted and since <= b.start < until and (now is None or b.end <= now)
        ]
        errors = {s: "not on this tape" for s in symbols if s not in self.symbols}
        return FeedBatch(bars=bars, errors=errors)


def tape_from_db(
    repository: MinuteBarRepository, symbols: Sequence[Symbol], day: date, **options: object
) -> RecordedTape:
    """A tape of the stored minutes of ``symbols`` on exchange-local ``day`` (``options``
    as ``RecordedTape``'s: speed, started_at, clock, name)."""
    return RecordedTape(repository.minute_bars_of_day(symbols, day), **options)  # type: ignore[arg-type]


def parse_minute_bars(text: str) -> list[MinuteBar]:
    """The minute bars of CSV ``text``; raises ``InvalidBars`` naming the line and the rule."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [cell.strip().lower() for cell in next(reader, [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InvalidBars(f"missing column {missing[0]!r}", rule="columns", row=1)
    at = {name: header.index(name) for name in CSV_COLUMNS}
    bars: list[MinuteBar] = []
    previous: dict[Symbol, MinuteBar] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        try:
            values = {name: cells[i].strip() for name, i in at.items()}
            bar = MinuteBar(
                symbol=values["symbol"],
                start=datetime.fromisoformat(values["start"]),
                open=Decimal(values["open"]),
                high=Decimal(values["high"]),
                low=Decimal(values["low"]),
                close=Decimal(values["close"]),
                volume=int(values["volume"]),
            )
        except (IndexError, ValueError, InvalidOperation) as error:
            raise InvalidBars(f"line {line}: {error}", rule="number", row=line) from error
        try:
            check_minute_bar(bar, previous=previous.get(bar.symbol))
        except InvalidBars as error:
            raise InvalidBars(
                f"line {line}: {error.detail}", rule=error.rule or "", row=line
            ) from error
        previous[bar.symbol] = bar
        bars.append(bar)
    return bars


def tape_from_csv(text: str, **options: object) -> RecordedTape:
    """A tape of the minute bars in CSV ``text`` (``options`` as ``RecordedTape``'s)."""
    return RecordedTape(parse_minute_bars(text), **options)  # type: ignore[arg-type]


def minute_bars_csv(bars: Sequence[MinuteBar]) -> str:
    """``bars`` as tape CSV (what ``parse_minute_bars`` reads back)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for b in bars:
        writer.writerow([b.symbol, b.start.isoformat(), b.open, b.high, b.low, b.close, b.volume])
    return out.getvalue()
