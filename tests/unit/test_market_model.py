"""Pure market-data helpers: day-range arithmetic of the fetch cache, instrument inference."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.market.model import (
    Board,
    Market,
    instrument_for,
    merge_ranges,
    missing_ranges,
    tidy_price,
)

BASE = date(2024, 1, 1)


def days_of(ranges: list[tuple[date, date]]) -> set[date]:
    return {
        first + timedelta(days=n) for first, last in ranges for n in range((last - first).days + 1)
    }


day_ranges = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 10)).map(
        lambda t: (BASE + timedelta(days=t[0]), BASE + timedelta(days=t[0] + t[1]))
    ),
    max_size=8,
)


@given(day_ranges)
def test_merge_ranges_keeps_the_days_and_separates_ranges(ranges: list[tuple[date, date]]) -> None:
    merged = merge_ranges(ranges)
    assert days_of(merged) == days_of(ranges)
    for (_, last), (first, _) in zip(merged, merged[1:], strict=False):
        assert first > last + timedelta(days=1)  # neither overlapping nor touching


@given(day_ranges, st.integers(0, 70), st.integers(0, 30))
def test_missing_ranges_are_exactly_the_uncovered_days(
    covered: list[tuple[date, date]], offset: int, length: int
) -> None:
    start = BASE + timedelta(days=offset)
    end = start + timedelta(days=length)
    missing = missing_ranges(covered, start, end)
    wanted = days_of([(start, end)])
    assert days_of(missing) == wanted - days_of(covered)
    assert missing == merge_ranges(missing)  # sorted, disjoint, not touching


def test_missing_ranges_examples() -> None:
    d = lambda n: BASE + timedelta(days=n)  # noqa: E731
    assert missing_ranges([], d(0), d(9)) == [(d(0), d(9))]
    assert missing_ranges([(d(0), d(9))], d(2), d(5)) == []
    assert missing_ranges([(d(3), d(4)), (d(7), d(8))], d(0), d(9)) == [
        (d(0), d(2)),
        (d(5), d(6)),
        (d(9), d(9)),
    ]


def test_instrument_for_yahoo_symbols() -> None:
    assert instrument_for("AAPL", source="yfinance").market is Market.US
    star = instrument_for("688981.SS", source="yfinance", name="SMIC")
    assert (star.market, star.board, star.lot_size, star.currency) == (
        Market.CN,
        Board.STAR,
        100,
        "CNY",
    )
    assert instrument_for("300750.SZ", source="y").board is Board.CHINEXT
    assert instrument_for("600001.SS", source="y", name="*ST Example").board is Board.ST


def test_tidy_price() -> None:
    assert str(tidy_price(Decimal("12.300000"))) == "12.30"
    assert str(tidy_price(Decimal("12.345000"))) == "12.3450"
    assert str(tidy_price(Decimal("12.345678"))) == "12.345678"
