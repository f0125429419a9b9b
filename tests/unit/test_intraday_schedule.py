"""The minute contest's due bars (``engine.intraday_schedule.due_bars``): strictly increasing
trading minutes inside the sessions (never in the lunch break), none at or before the last
ticked bar, none unfinished at ``until``, none outside the trading window, and no gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.intraday_schedule import due_bars, replay_bar_count
from engine.market.model import Market
from engine.market.sessions import sessions_for

MINUTE = timedelta(minutes=1)
FIRST = date(2024, 1, 1)


def _reference(
    market: Market,
    after: datetime | None,
    first_day: date,
    last_day: date,
    until: datetime | None,
    limit: int,
) -> list[datetime]:
    calendar = sessions_for(market)
    out: list[datetime] = []
    day = first_day
    while day <= last_day:
        session = calendar.session(day)
        if session is not None:
            for start in session.minutes():
                if (after is None or start > after) and (until is None or start + MINUTE <= until):
                    out.append(start)
        day += timedelta(days=1)
    return out[:limit]


@st.composite
def windows(draw: st.DrawFn) -> tuple[Market, datetime | None, date, date, datetime | None, int]:
    market = draw(st.sampled_from([Market.CN, Market.US]))
    first_day = FIRST + timedelta(days=draw(st.integers(0, 120)))
    last_day = first_day + timedelta(days=draw(st.integers(0, 6)))
    origin = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    span = int((last_day - first_day).days + 3) * 24 * 60
    after = draw(st.none() | st.integers(0, span).map(lambda m: origin + m * MINUTE))
    until = draw(st.none() | st.integers(0, span * 60).map(lambda s: origin + timedelta(seconds=s)))
    limit = draw(st.integers(1, 800))
    return market, after, first_day, last_day, until, limit


@settings(max_examples=150, deadline=None)
@given(window=windows())
def test_due_bars_are_the_trading_minutes_in_order_and_nothing_else(
    window: tuple[Market, datetime | None, date, date, datetime | None, int],
) -> None:
    market, after, first_day, last_day, until, limit = window
    calendar = sessions_for(market)
    bars = due_bars(
        calendar, after=after, first_day=first_day, last_day=last_day, until=until, limit=limit
    )
    assert len(bars) <= limit
    assert all(a < b for a, b in zip(bars, bars[1:], strict=False))  # strictly increasing
    for bar in bars:
        session = calendar.session_at(bar)
        assert session is not None and not session.in_break(bar)  # in a session, not at lunch
        assert bar.second == 0 and bar.microsecond == 0
        assert first_day <= session.day <= last_day  # inside the trading window
        assert after is None or bar > after  # never at or before the last ticked bar
        assert until is None or bar + MINUTE <= until  # only bars that have ended
    assert bars == _reference(market, after, first_day, last_day, until, limit)  # no gaps


def test_the_lunch_break_and_the_close_are_never_due() -> None:
    calendar = sessions_for(Market.CN)
    day = date(2024, 1, 2)
    session = calendar.session(day)
    assert session is not None and session.break_start and session.break_end
    bars = due_bars(calendar, after=None, first_day=day, last_day=day, until=None, limit=1000)
    assert len(bars) == 240 and bars[0] == session.open and bars[-1] == session.close - MINUTE
    assert session.break_start - MINUTE in bars and session.break_end in bars
    assert not any(session.break_start <= b < session.break_end for b in bars)


@given(
    minutes=st.integers(0, 10_000),
    pace=st.integers(1, 600),
    cap=st.integers(1, 500),
)
def test_a_replay_walks_one_bar_per_pace_up_to_the_cap(minutes: int, pace: int, cap: int) -> None:
    last = datetime(2026, 1, 1, tzinfo=UTC)
    now = last + timedelta(seconds=minutes)
    count = replay_bar_count(last, now, pace=timedelta(seconds=pace), cap=cap)
    assert count == min(cap, minutes // pace)
    assert replay_bar_count(None, now, pace=timedelta(seconds=pace), cap=cap) == 1
    assert replay_bar_count(last, now, pace=timedelta(0), cap=cap) == cap
