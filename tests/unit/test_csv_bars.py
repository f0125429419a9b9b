"""CSV import of daily bars: every rule refuses with its row and name; valid files parse exactly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.market.csv_import import parse_bars
from engine.market.model import Bar, InvalidBars

HEADER = "date,open,high,low,close,volume\n"
GOOD_ROWS = "2024-01-02,10,11,9,10,1\n2024-01-03,10,11,9,10,1\n"


def rejected(text: str) -> InvalidBars:
    with pytest.raises(InvalidBars) as caught:
        parse_bars(text, symbol="X")
    return caught.value


def test_yahoo_style_file_with_any_header_case_and_adj_close() -> None:
    text = (
        "\ufeffDate,Open,HIGH,low,Close,Adj Close,Volume\r\n"
        "2024-01-02,187.15,188.44,183.885,185.64,184.94,82488700\r\n"
        "\r\n"
        "2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500.0\r\n"
    )
    bars = parse_bars(text, symbol="AAPL")
    assert bars == [
        Bar(
            "AAPL",
            date(2024, 1, 2),
            Decimal("187.15"),
            Decimal("188.44"),
            Decimal("183.885"),
            Decimal("185.64"),
            82488700,
        ),
        Bar(
            "AAPL",
            date(2024, 1, 3),
            Decimal("184.22"),
            Decimal("185.88"),
            Decimal("183.43"),
            Decimal("184.25"),
            58414500,
        ),
    ]
    assert str(bars[0].low) == "183.885"  # never through float


def test_columns_in_any_order_and_timestamps_with_a_date_first() -> None:
    text = "Volume,Close,Low,High,Open,Date\n100,10.5,9.5,11,10,2024-01-02 00:00:00-05:00\n"
    (bar,) = parse_bars(text, symbol="X")
    assert bar.day == date(2024, 1, 2) and bar.open == Decimal(10) and bar.volume == 100


def test_prices_beyond_the_storage_scale_are_rounded_half_up() -> None:
    (bar,) = parse_bars(HEADER + "2024-01-02,1.00000050,2,1,1.5,1\n", symbol="X")
    assert bar.open == Decimal("1.000001")


@pytest.mark.parametrize(
    ("rows", "rule", "row"),
    [
        ("2024-01-03,10,11,9,10,1\n2024-01-02,10,11,9,10,1\n", "monotonic_dates", 3),
        ("2024-01-02,10,11,9,10,1\n2024-01-02,10,11,9,10,1\n", "monotonic_dates", 3),
        ("2024-01-02,10,9,9.5,10,1\n", "high_low", 2),  # high below low
        ("2024-01-02,12,11,9,10,1\n", "high_low", 2),  # open above high
        ("2024-01-02,10,11,9,8,1\n", "high_low", 2),  # close below low
        ("2024-01-02,,11,9,10,1\n", "no_nan", 2),
        ("2024-01-02,10,NaN,9,10,1\n", "no_nan", 2),
        ("2024-01-02,10,11,9,inf,1\n", "no_nan", 2),
        ("2024-01-02,10,11,9,10\n", "no_nan", 2),  # volume cell missing
        (",10,11,9,10,1\n", "no_nan", 2),
        ("2024-01-02,10,11,0,10,1\n", "positive_price", 2),
        ("2024-01-02,-1,11,-2,10,1\n", "positive_price", 2),
        ("2024-01-02,10,11,9,10,-5\n", "volume", 2),
        ("2024-01-02,10,11,9,10,1.5\n", "volume", 2),
        ("2024-01-02,10,11,9,ten,1\n", "number", 2),
        ("2024-01-02,1e20,1e20,1,10,1\n", "number", 2),
        ("02/01/2024,10,11,9,10,1\n", "date", 2),
        (
            "2024-01-02,10,11,9,10,1\n2024-01-03,10,11,9,10,1\n2024-01-04,10,8,9,10,1\n",
            "high_low",
            4,
        ),
    ],
)
def test_each_rule_names_its_row(rows: str, rule: str, row: int) -> None:
    error = rejected(HEADER + rows)
    assert (error.rule, error.row) == (rule, row)
    assert f"row {row}" in error.detail
    assert error.extensions["rule"] == rule and error.field == "bars"


def test_missing_columns_and_empty_files() -> None:
    error = rejected("date,open,high,low,close\n2024-01-02,1,1,1,1\n")
    assert error.rule == "columns" and "volume" in error.detail
    assert rejected("").rule == "no_rows"
    assert rejected(HEADER + "\n\n").rule == "no_rows"


prices = st.decimals(min_value="0.01", max_value="99999", places=4, allow_nan=False)


@st.composite
def bar_series(draw: st.DrawFn) -> list[Bar]:
    count = draw(st.integers(1, 30))
    day = draw(st.dates(date(1990, 1, 1), date(2040, 1, 1)))
    bars = []
    for _ in range(count):
        day += timedelta(days=draw(st.integers(1, 5)))
        o, c = draw(prices), draw(prices)
        high = max(o, c) + draw(st.decimals(min_value=0, max_value=5, places=2))
        low = max(
            min(o, c) - draw(st.decimals(min_value=0, max_value=5, places=2)), Decimal("0.0001")
        )
        bars.append(Bar("X", day, o, high, low, c, draw(st.integers(0, 10**12))))
    return bars


@given(bar_series())
def test_written_bars_read_back_identically(bars: list[Bar]) -> None:
    lines = [f"{b.day},{b.open},{b.high},{b.low},{b.close},{b.volume}" for b in bars]
    assert parse_bars(HEADER + "\n".join(lines) + "\n", symbol="X") == bars
