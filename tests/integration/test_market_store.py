"""Market data in the database: repository queries, fetch caching, CSV import, synthetic install.

Runs on SQLite and PostgreSQL (``db_url`` is parametrized by backend).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.errors import Conflict
from engine.market.model import (
    Bar,
    Board,
    Instrument,
    InvalidBars,
    Market,
    MarketDataUnavailable,
    Symbol,
    UnknownSymbol,
)
from engine.market.services import (
    MarketUnitOfWork,
    ensure_bars,
    import_csv,
    install_synthetic,
)
from engine.market.store import PriceBarRow, PriceCoverageRow
from engine.market.synthetic import SyntheticMarket, synthetic_universe

MON = date(2024, 1, 1)  # a Monday
SAT, SUN = date(2024, 1, 6), date(2024, 1, 7)
TODAY = date(2024, 6, 1)


@pytest.fixture
def uow(db_url: str) -> Iterator[MarketUnitOfWork]:
    database = Database.connect(db_url)
    yield MarketUnitOfWork(database.sessions)
    database.dispose()


def bar(symbol: Symbol, day: date, close: str = "10.00", volume: int = 1000) -> Bar:
    price = Decimal(close)
    return Bar(symbol, day, price, price + 1, price - 1, price, volume)


def weekdays(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [day for day in days if day.weekday() < 5]


class CountingSource:
    """A fake remote source: bars on weekdays, every request counted, some symbols failing."""

    name = "fake-remote"

    def __init__(self, *, failing: dict[Symbol, Exception] | None = None) -> None:
        self.requests: list[tuple[Symbol, date, date]] = []
        self.failing = failing or {}

    def daily_bars(self, symbol: Symbol, start: date, end: date) -> list[Bar]:
        self.requests.append((symbol, start, end))
        if symbol in self.failing:
            raise self.failing[symbol]
        return [bar(symbol, day, f"{10 + day.day}.25") for day in weekdays(start, end)]

    def describe(self, symbol: Symbol) -> Instrument | None:
        return Instrument(symbol, f"{symbol} Corp", Market.US, source=self.name)


def test_instruments_upsert_lookup_and_keyset_pages(uow: MarketUnitOfWork) -> None:
    cn = synthetic_universe(Market.CN, 7, seed=3)
    us = synthetic_universe(Market.US, 5, seed=3)
    with uow:
        uow.market.add_instruments([*cn, *us])
        uow.market.add_instruments([Instrument(cn[0].symbol, "Renamed", Market.CN, lot_size=100)])
        uow.commit()
    with uow.reading():
        renamed = uow.market.require_instrument(cn[0].symbol)
        assert renamed.name == "Renamed" and renamed.lot_size == 100
        assert uow.market.instrument("SIM-NOPE") is None
        with pytest.raises(UnknownSymbol) as caught:
            uow.market.require_instrument("SIM-NOPE")
        assert caught.value.symbol == "SIM-NOPE"

        pages, after = [], None
        while page := uow.market.instruments(market=Market.CN, after=after, limit=3):
            pages.append([i.symbol for i in page])
            after = page[-1].symbol
        assert [len(p) for p in pages] == [3, 3, 1]
        assert sum(pages, []) == sorted(i.symbol for i in cn)
        everything = uow.market.instruments(limit=100)
        assert {i.symbol for i in everything} == {i.symbol for i in cn + us}
        assert uow.market.instrument(us[0].symbol) == us[0]


def test_put_bars_is_idempotent_and_queries_see_them(uow: MarketUnitOfWork) -> None:
    with uow:
        uow.market.add_instruments(
            [Instrument("AAA", "A", Market.US), Instrument("BBB", "B", Market.US)]
        )
        days = weekdays(MON, MON + timedelta(days=13))  # two weeks, 10 days
        bars = [bar("AAA", d, f"{10 + i}.5") for i, d in enumerate(days)]
        bars += [bar("BBB", d, "20.123456") for d in days[::2]]  # BBB trades every other day
        assert uow.market.put_bars(bars) == 15
        assert uow.market.put_bars(bars) == 0
        assert uow.market.put_bars([*bars[:3], bar("AAA", date(2024, 1, 20))]) == 1
        uow.commit()

    with uow.reading():
        m = uow.market
        aaa = m.bars("AAA", days[1], days[3])
        assert [b.day for b in aaa] == days[1:4] and aaa[0] == bars[1]
        assert m.bars("BBB", MON, MON)[0].close == Decimal("20.123456")
        assert set(m.bars_on(days[1], ["AAA", "BBB", "ZZZ"])) == {"AAA"}
        assert m.bars_on(days[2], ["AAA", "BBB"])["BBB"].close == Decimal("20.123456")

        between = m.bars_between(["AAA", "BBB"], days[0], days[2])
        assert [(b.day, b.symbol) for b in between] == sorted((b.day, b.symbol) for b in between)
        assert len(between) == 5

        assert m.trading_days(["BBB"], MON, date(2024, 1, 31)) == days[::2]
        assert m.trading_days(["AAA", "BBB"], MON, days[4]) == days[:5]
        assert m.next_trading_day(["BBB"], days[0]) == days[2]
        assert m.next_trading_day(["AAA"], days[4]) == days[5]  # over the weekend
        assert m.next_trading_day(["AAA"], date(2024, 1, 20)) is None

        assert m.previous_close("AAA", days[0]) is None
        assert m.previous_close("AAA", days[5]) == Decimal("14.50")
        assert m.previous_close("AAA", days[5] + timedelta(days=1)) == Decimal("15.50")
        assert m.previous_closes(["AAA", "BBB", "ZZZ"], days[3]) == {
            "AAA": Decimal("12.50"),
            "BBB": Decimal("20.123456"),
        }
        assert m.bar_sources("AAA") == {"synthetic"}  # the instrument's source by default


def test_database_refuses_an_inconsistent_bar(uow: MarketUnitOfWork) -> None:
    with uow:
        uow.market.add_instruments([Instrument("AAA", "A", Market.US)])
        broken = Bar("AAA", MON, Decimal(10), Decimal(9), Decimal(8), Decimal(10), 1)
        with pytest.raises(IntegrityError):
            uow.market.put_bars([broken])


def test_put_bars_in_bulk(uow: MarketUnitOfWork) -> None:
    instruments = synthetic_universe(Market.US, 50, seed=11)
    bars = SyntheticMarket(instruments, seed=11, start=MON, days=400).all_bars()
    with uow:
        uow.market.add_instruments(instruments)
        assert uow.market.put_bars(bars) == 20_000
        uow.commit()
    with uow:
        assert uow.market.put_bars(bars) == 0
    with uow.reading():
        count = uow.session.scalar(select(func.count()).select_from(PriceBarRow))
        assert count == 20_000
        symbol = instruments[7].symbol
        assert uow.market.bars(symbol, MON, date(2030, 1, 1)) == [
            b for b in bars if b.symbol == symbol
        ]


def test_ensure_bars_fetches_once_and_remembers_coverage(uow: MarketUnitOfWork) -> None:
    source = CountingSource()
    first = ensure_bars(uow, source, ["AAPL", "MSFT"], MON, date(2024, 1, 14), today=TODAY)
    assert first.ok and first.requests == 2 and first.stored == 20
    assert source.requests == [("AAPL", MON, date(2024, 1, 14)), ("MSFT", MON, date(2024, 1, 14))]

    again = ensure_bars(uow, source, ["AAPL", "MSFT"], MON, date(2024, 1, 14), today=TODAY)
    assert again.ok and again.requests == 0 and again.stored == 0
    # Inside the covered span, the weekend at the end included: still nothing to fetch.
    ensure_bars(uow, source, ["AAPL"], date(2024, 1, 6), date(2024, 1, 7), today=TODAY)
    assert len(source.requests) == 2

    # A wider range asks only for the uncovered days, from the first to the last missing one.
    wider = ensure_bars(uow, source, ["AAPL"], date(2023, 12, 25), date(2024, 1, 21), today=TODAY)
    assert source.requests[2:] == [("AAPL", date(2023, 12, 25), date(2024, 1, 21))]
    assert wider.stored == 10  # 5 new days before, 5 after; the middle was stored already
    with uow.reading():
        assert uow.market.coverage("AAPL", source.name) == [(date(2023, 12, 25), date(2024, 1, 21))]
        assert uow.market.require_instrument("MSFT").name == "MSFT Corp"
        assert len(uow.market.bars("AAPL", date(2023, 1, 1), date(2025, 1, 1))) == 20
        assert uow.market.bar_sources("AAPL") == {"fake-remote"}


def test_ensure_bars_fills_a_gap_between_covered_ranges(uow: MarketUnitOfWork) -> None:
    source = CountingSource()
    ensure_bars(uow, source, ["AAPL"], date(2024, 1, 1), date(2024, 1, 5), today=TODAY)
    ensure_bars(uow, source, ["AAPL"], date(2024, 1, 15), date(2024, 1, 19), today=TODAY)
    ensure_bars(uow, source, ["AAPL"], date(2024, 1, 1), date(2024, 1, 19), today=TODAY)
    assert source.requests[-1] == ("AAPL", date(2024, 1, 6), date(2024, 1, 14))
    with uow.reading():
        assert uow.market.coverage("AAPL", source.name) == [(date(2024, 1, 1), date(2024, 1, 19))]
        rows = uow.session.scalar(select(func.count()).select_from(PriceCoverageRow))
        assert rows == 1


def test_ensure_bars_leaves_today_and_later_unsettled(uow: MarketUnitOfWork) -> None:
    source = CountingSource()
    today = date(2024, 1, 10)
    report = ensure_bars(uow, source, ["AAPL"], MON, date(2024, 1, 12), today=today)
    assert source.requests == [("AAPL", MON, date(2024, 1, 9))]
    assert report.stored == 7
    with uow.reading():
        assert uow.market.coverage("AAPL", source.name) == [(MON, date(2024, 1, 9))]
    # Entirely in the future: nothing to ask.
    future = ensure_bars(uow, source, ["AAPL"], today, date(2024, 1, 12), today=today)
    assert future.ok and future.requests == 0


def test_one_failing_symbol_does_not_break_the_others(uow: MarketUnitOfWork) -> None:
    source = CountingSource(
        failing={
            "GONE": UnknownSymbol("GONE", "GONE: Yahoo: No data found, symbol may be delisted"),
            "SLOW": MarketDataUnavailable("SLOW", "rate limited"),
        }
    )
    report = ensure_bars(uow, source, ["AAPL", "GONE", "SLOW", "MSFT"], MON, MON, today=TODAY)
    assert not report.ok
    assert set(report.failures) == {"GONE", "SLOW"}
    assert isinstance(report.failures["GONE"], UnknownSymbol)
    assert report.stored == 2
    with uow.reading():
        assert uow.market.instrument("GONE") is None  # nothing stored for a failed symbol
        assert uow.market.coverage("SLOW", source.name) == []
        assert set(uow.market.bars_on(MON, ["AAPL", "MSFT", "GONE"])) == {"AAPL", "MSFT"}
    # A failed symbol is asked again next time; the stored ones are not.
    source.failing.clear()
    retry = ensure_bars(uow, source, ["AAPL", "GONE", "SLOW", "MSFT"], MON, MON, today=TODAY)
    assert retry.ok and retry.requests == 2 and retry.stored == 2


def test_ensure_bars_does_not_mix_sources(uow: MarketUnitOfWork) -> None:
    import_csv(
        uow,
        "date,open,high,low,close,volume\n2024-01-02,1,2,1,2,5\n",
        symbol="AAPL",
        market=Market.US,
    )
    source = CountingSource()
    report = ensure_bars(uow, source, ["AAPL", "MSFT"], MON, MON + timedelta(days=3), today=TODAY)
    assert isinstance(report.failures["AAPL"], Conflict)
    assert "csv" in report.failures["AAPL"].detail
    assert [r[0] for r in source.requests] == ["MSFT"]


GOOD_CSV = """Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,187.15,188.44,183.885,185.64,184.94,82488700
2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500
2024-01-04,182.15,183.0872,180.88,181.91,181.22,71983600
"""


def test_import_csv_creates_the_instrument_and_is_all_or_nothing(
    uow: MarketUnitOfWork, tmp_path: Path
) -> None:
    path = tmp_path / "aapl.csv"
    path.write_text(GOOD_CSV)
    assert import_csv(uow, path, symbol="AAPL", market=Market.US, name="Apple Inc.") == 3
    assert import_csv(uow, str(path), symbol="AAPL", market=Market.US) == 0  # idempotent
    with uow.reading():
        apple = uow.market.require_instrument("AAPL")
        assert (apple.name, apple.currency, apple.lot_size, apple.source) == (
            "Apple Inc.",
            "USD",
            1,
            "csv",
        )
        assert uow.market.bars("AAPL", MON, date(2024, 1, 31))[2].high == Decimal("183.0872")

    broken = GOOD_CSV + "2024-01-05,181.99,182.76,180.17,181.18,180.50,\n"
    with pytest.raises(InvalidBars) as caught:
        import_csv(uow, broken, symbol="MSFT", market=Market.US)
    assert caught.value.rule == "no_nan" and caught.value.row == 5
    with uow.reading():
        assert uow.market.instrument("MSFT") is None
        assert uow.market.bars("MSFT", MON, date(2024, 12, 31)) == []

    cn = import_csv(
        uow,
        GOOD_CSV,
        symbol="600519.SS",
        market=Market.CN,
        name="Kweichow Moutai",
        board=Board.MAIN,
    )
    assert cn == 3
    with uow.reading():
        moutai = uow.market.require_instrument("600519.SS")
        assert (moutai.currency, moutai.lot_size) == ("CNY", 100)


def test_install_synthetic_stores_universe_and_bars(uow: MarketUnitOfWork) -> None:
    instruments = install_synthetic(uow, Market.CN, count=12, seed=5, start=MON, days=30)
    again = install_synthetic(uow, Market.CN, count=12, seed=5, start=MON, days=30)
    assert instruments == again
    expected = SyntheticMarket(instruments, seed=5, start=MON, days=30)
    symbols = [i.symbol for i in instruments]
    with uow.reading():
        assert uow.market.instruments(market=Market.CN) == instruments
        stored = uow.market.bars_between(symbols, MON, date(2024, 12, 31))
        assert stored == expected.all_bars()
        assert uow.market.trading_days(symbols, MON, date(2024, 12, 31)) == expected.trading_days()


@pytest.mark.parametrize(("first", "last", "bars"), [(MON, date(2024, 1, 31), 23), (SAT, SUN, 0)])
def test_concurrent_fetches_of_one_symbol_keep_one_coverage_range(
    db_url: str, first: date, last: date, bars: int
) -> None:
    """Real threads that all read "not covered", then all write: bars stored once, one range.
    (A weekend stores no bars, so only the coverage rows can collide.)"""
    import threading

    from tests.concurrency import race

    class SlowSource(CountingSource):
        gate = threading.Barrier(4)

        def daily_bars(self, symbol: Symbol, start: date, end: date) -> list[Bar]:
            self.gate.wait(timeout=10)  # every thread has read the coverage before any writes
            return super().daily_bars(symbol, start, end)

    database = Database.connect(db_url)
    try:
        source = SlowSource()
        with MarketUnitOfWork(database.sessions) as uow:
            uow.market.add_instruments([Instrument("AAPL", "Apple", Market.US, source=source.name)])
            uow.commit()

        def fetch(_: int) -> object:
            uow = MarketUnitOfWork(database.sessions)
            return ensure_bars(uow, source, ["AAPL"], first, last, today=TODAY)

        reports = race(4, fetch)
        assert all(getattr(r, "ok", False) for r in reports), reports
        assert sum(r.stored for r in reports) == bars  # type: ignore[attr-defined]
        uow = MarketUnitOfWork(database.sessions)
        with uow.reading():
            assert uow.market.coverage("AAPL", source.name) == [(first, last)]
    finally:
        database.dispose()
