"""The synthetic intraday feed and the recorded tape: sessions only, determinism, CN limits,
exact agreement with the daily synthetic bars, paced replay at a speed factor."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.intraday import daily_from_minutes
from engine.market.model import InvalidBars, Market
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed
from engine.market.tape import RecordedTape, minute_bars_csv, parse_minute_bars, tape_from_csv
from engine.trading.rules import cn_a_share


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    market=st.sampled_from([Market.CN, Market.US]),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 1)),
)
def test_minutes_are_in_sessions_add_up_to_the_daily_bars_and_respect_limits(
    seed: int, market: Market, start: date
) -> None:
    instruments = synthetic_universe(market, 4, seed=seed)
    feed = SyntheticIntradayFeed(instruments, seed=seed, start=start, sessions=2)
    minutes = feed.all_minutes()
    assert all(feed.calendar.is_open(m.start) for m in minutes)
    assert daily_from_minutes(minutes, local_day=lambda m: feed.calendar.local_day(m.start)) == (
        feed.daily_bars()
    )
    lots = {i.symbol: i.lot_size for i in instruments}
    assert all(m.volume % lots[m.symbol] == 0 for m in minutes)  # whole lots
    if market is Market.CN:
        rules, board = cn_a_share(), {i.symbol: i.board for i in instruments}
        daily = feed.daily_bars()
        for previous, bar in zip(daily, daily[len(instruments) :], strict=False):
            band = rules.price_band(board[bar.symbol], previous.close)
            assert band is not None and previous.symbol == bar.symbol
            day_minutes = [
                m
                for m in minutes
                if m.symbol == bar.symbol and feed.calendar.local_day(m.start) == bar.day
            ]
            assert all(band.down <= m.low and m.high <= band.up for m in day_minutes)
    again = SyntheticIntradayFeed(instruments, seed=seed, start=start, sessions=2)
    first = feed.sessions[0]
    polled = again.poll([instruments[1].symbol], first.open, first.open + timedelta(minutes=5))
    assert list(polled.bars) == [m for m in minutes if m.symbol == instruments[1].symbol][:5]


def test_poll_reports_an_unknown_symbol_and_serves_the_others() -> None:
    instruments = synthetic_universe(Market.US, 2, seed=1)
    feed = SyntheticIntradayFeed(instruments, seed=1, start=date(2024, 11, 29), sessions=1)
    session = feed.sessions[0]
    batch = feed.poll(["NOPE", instruments[0].symbol], session.open, session.close)
    assert set(batch.errors) == {"NOPE"} and len(batch.bars) == 210  # the half day


def test_a_paced_tape_reveals_only_ended_minutes_at_its_speed() -> None:
    instruments = synthetic_universe(Market.CN, 1, seed=2)
    feed = SyntheticIntradayFeed(instruments, seed=2, start=date(2024, 10, 8), sessions=1)
    bars = feed.all_minutes()
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    now = [wall]
    tape = tape_from_csv(minute_bars_csv(bars), speed=60.0, started_at=wall, clock=lambda: now[0])
    symbol, first = bars[0].symbol, bars[0].start
    assert tape.poll([symbol], first, first + timedelta(days=1)).bars == []
    now[0] = wall + timedelta(seconds=10)  # ten tape minutes at 60x
    assert tape.poll([symbol], first, first + timedelta(days=1)).bars == bars[:10]
    unpaced = RecordedTape(bars)
    assert len(unpaced.poll([symbol], first, first + timedelta(days=1)).bars) == 240


def test_a_tape_csv_with_a_broken_row_names_the_line_and_rule() -> None:
    text = "symbol,start,open,high,low,close,volume\nA,2024-10-08T01:30:00+00:00,10,9,9.5,10,1\n"
    with pytest.raises(InvalidBars) as broken:
        parse_minute_bars(text)
    assert broken.value.rule == "high_low" and broken.value.row == 2
    with pytest.raises(InvalidBars) as naive:
        parse_minute_bars(text.replace("+00:00", "").replace(",9,9.5", ",11,9.5"))
    assert naive.value.rule == "timezone"
