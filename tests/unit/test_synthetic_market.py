"""The synthetic market: reproducible, consistent bars that obey A-share price limits."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Bar, Board, Market, UnknownSymbol, check_bars
from engine.market.synthetic import SyntheticMarket, synthetic_universe
from engine.trading.rules import cn_a_share

START = date(2024, 1, 1)
CENT = Decimal("0.01")
PREFIX_OF = {Board.MAIN: "600", Board.ST: "600", Board.CHINEXT: "300", Board.STAR: "688"}


def market_of(market: Market, count: int, seed: int, days: int = 60) -> SyntheticMarket:
    return SyntheticMarket(
        synthetic_universe(market, count, seed=seed), seed=seed, start=START, days=days
    )


def by_symbol(bars: list[Bar]) -> dict[str, list[Bar]]:
    series: dict[str, list[Bar]] = defaultdict(list)
    for bar in bars:
        series[bar.symbol].append(bar)
    return series


def test_cn_universe_mixes_boards_with_exchange_codes() -> None:
    universe = synthetic_universe(Market.CN, 40, seed=1)
    assert len({i.symbol for i in universe}) == 40
    assert [i.symbol for i in universe] == sorted(i.symbol for i in universe)
    boards = {i.board for i in universe}
    assert boards == {Board.MAIN, Board.CHINEXT, Board.STAR, Board.ST}
    for instrument in universe:
        code = instrument.symbol.removeprefix("SIM-")
        assert instrument.symbol.startswith("SIM-") and len(code) == 6 and code.isdigit()
        assert (instrument.currency, instrument.lot_size, instrument.market) == (
            "CNY",
            100,
            Market.CN,
        )
        expected_prefix = {
            Board.MAIN: "600",
            Board.ST: "600",
            Board.CHINEXT: "300",
            Board.STAR: "688",
        }
        assert code.startswith(expected_prefix[instrument.board])
        assert instrument.name.startswith("ST ") == (instrument.board is Board.ST)
        assert instrument.sector


def test_us_universe() -> None:
    universe = synthetic_universe(Market.US, 30, seed=2)
    assert len({i.symbol for i in universe}) == 30
    assert all(i.symbol.startswith("SIM-") and i.symbol[4:].isalpha() for i in universe)
    assert all((i.currency, i.lot_size, i.board) == ("USD", 1, Board.MAIN) for i in universe)
    assert len({i.sector for i in universe}) == 8  # spread over every sector


def test_same_seed_same_market_other_seed_other_market() -> None:
    a, b = market_of(Market.CN, 10, seed=42), market_of(Market.CN, 10, seed=42)
    assert a.instruments == b.instruments
    assert a.all_bars() == b.all_bars()
    c = market_of(Market.CN, 10, seed=43)
    assert [bar.close for bar in c.all_bars()] != [bar.close for bar in a.all_bars()]
    # Same instruments, another seed: other prices.
    d = SyntheticMarket(a.instruments, seed=7, start=START, days=60)
    assert [bar.close for bar in d.all_bars()] != [bar.close for bar in a.all_bars()]


def test_calendar_and_slicing() -> None:
    market = market_of(Market.US, 3, seed=5, days=15)
    days = market.trading_days()
    assert len(days) == 15 and all(day.weekday() < 5 for day in days)
    assert days[0] == START and days == sorted(days)
    assert len(set(days)) == 15 and days[-1] == date(2024, 1, 19)
    symbol = market.instruments[1].symbol
    week2 = market.daily_bars(symbol, date(2024, 1, 6), date(2024, 1, 12))
    assert [bar.day for bar in week2] == [date(2024, 1, 8) + timedelta(days=n) for n in range(5)]
    assert week2 == [bar for bar in market.all_bars() if bar.symbol == symbol][5:10]
    all_bars = market.all_bars()
    assert [(b.day, b.symbol) for b in all_bars] == sorted((b.day, b.symbol) for b in all_bars)
    with pytest.raises(UnknownSymbol):
        market.daily_bars("SIM-NOPE", START, START)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    market=st.sampled_from(Market),
    count=st.integers(1, 12),
    days=st.integers(1, 80),
)
def test_bars_are_consistent_ticks(seed: int, market: Market, count: int, days: int) -> None:
    synthetic = market_of(market, count, seed, days)
    bars = synthetic.all_bars()
    assert len(bars) == count * days
    lots = {i.symbol: i.lot_size for i in synthetic.instruments}
    for series in by_symbol(bars).values():
        check_bars(series)  # positive, low ≤ open, close ≤ high, dates increasing
    for bar in bars:
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert price == price.quantize(CENT) and price > 0
        assert bar.volume > 0 and bar.volume % lots[bar.symbol] == 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_cn_bars_stay_inside_the_price_limit_of_their_board(seed: int) -> None:
    synthetic = market_of(Market.CN, 12, seed, days=120)
    rules = cn_a_share()  # the trading engine's own limit computation
    boards = {i.symbol: i.board for i in synthetic.instruments}
    for symbol, series in by_symbol(synthetic.all_bars()).items():
        for previous, bar in zip(series, series[1:], strict=False):
            band = rules.price_band(boards[symbol], previous.close)
            assert band is not None
            assert band.down <= bar.low and bar.high <= band.up, (symbol, bar, band)


def test_limit_days_occur_on_every_board_including_st() -> None:
    synthetic = market_of(Market.CN, 100, seed=2024, days=250)
    rules = cn_a_share()
    boards = {i.symbol: i.board for i in synthetic.instruments}
    hits: dict[Board, set[str]] = defaultdict(set)
    for symbol, series in by_symbol(synthetic.all_bars()).items():
        for previous, bar in zip(series, series[1:], strict=False):
            band = rules.price_band(boards[symbol], previous.close)
            assert band is not None
            if bar.close == band.up:
                hits[boards[symbol]].add("up")
            if bar.close == band.down:
                hits[boards[symbol]].add("down")
    # Every board of the mix has limit days (the synthetic mix has no Beijing stocks).
    assert all(hits[board] for board in set(boards.values()))
    assert hits[Board.MAIN] == hits[Board.ST] == {"up", "down"}
    # ST's band is ±5% of the previous close, give or take the half tick of rounding.
    for symbol, series in by_symbol(synthetic.all_bars()).items():
        if boards[symbol] is Board.ST:
            for a, b in zip(series, series[1:], strict=False):
                assert abs(b.close - a.close) <= a.close * Decimal("0.05") + Decimal("0.005")


def log_returns(synthetic: SyntheticMarket) -> np.ndarray:
    series = by_symbol(synthetic.all_bars())
    closes = np.array([[float(b.close) for b in series[i.symbol]] for i in synthetic.instruments])
    return np.diff(np.log(closes), axis=1)


def test_stocks_of_a_sector_move_together_more_than_across_sectors() -> None:
    synthetic = market_of(Market.US, 40, seed=9, days=250)
    correlation = np.corrcoef(log_returns(synthetic))
    sectors = [i.sector for i in synthetic.instruments]
    within: list[float] = []
    across: list[float] = []
    for i in range(len(sectors)):
        for j in range(i + 1, len(sectors)):
            (within if sectors[i] == sectors[j] else across).append(correlation[i, j])
    assert np.mean(within) > np.mean(across) + 0.15
    assert np.mean(across) > 0.05  # the market factor


def test_turbulent_regime_is_more_volatile_and_big_moves_trade_more() -> None:
    synthetic = market_of(Market.US, 30, seed=11, days=500)
    returns = log_returns(synthetic)
    turbulent = synthetic.regimes[1:]
    assert 0.05 < turbulent.mean() < 0.6
    assert returns[:, turbulent].std() > 1.5 * returns[:, ~turbulent].std()
    series = by_symbol(synthetic.all_bars())
    volume = np.array([[b.volume for b in series[i.symbol]] for i in synthetic.instruments])
    relative = np.log(volume[:, 1:] / volume.mean(axis=1, keepdims=True))
    assert np.corrcoef(np.abs(returns).ravel(), relative.ravel())[0, 1] > 0.2


def test_a_hundred_symbols_for_a_year_give_a_bar_per_symbol_and_day() -> None:
    # Its speed is a benchmark's business (shared machines make timed tests flaky).
    synthetic = market_of(Market.CN, 100, seed=1, days=250)
    bars = synthetic.all_bars()
    assert len(bars) == 25_000
    assert len({(b.symbol, b.day) for b in bars}) == 25_000
