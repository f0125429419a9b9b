"""``engine.intraday_clock.stale_symbols`` against a naive reference: a needed symbol is stale
when it has no bar this minute and its last quote (today's last bar, else the session's open)
ended more than ``stale_after`` before now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.intraday_clock import stale_symbols
from engine.market.feeds import MinuteBar

OPEN = datetime(2024, 1, 2, 1, 30, tzinfo=UTC)
SYMBOLS = [f"S{i}" for i in range(6)]


def _bar(symbol: str, minute: int) -> MinuteBar:
    price = Decimal("10.00")
    return MinuteBar(symbol, OPEN + timedelta(minutes=minute), price, price, price, price, 100)


def _reference(
    needed: set[str],
    bars: dict[str, MinuteBar],
    earlier: dict[str, MinuteBar],
    now: datetime,
    stale_after: timedelta,
) -> list[str]:
    out = []
    for symbol in SYMBOLS:  # already in sorted order
        if symbol not in needed or symbol in bars:
            continue
        if symbol in earlier:
            age = now - (earlier[symbol].start + timedelta(minutes=1))
        else:
            age = now - OPEN
        if age > stale_after:
            out.append(symbol)
    return out


@given(
    needed=st.sets(st.sampled_from(SYMBOLS)),
    current=st.sets(st.sampled_from(SYMBOLS)),
    last=st.dictionaries(st.sampled_from(SYMBOLS), st.integers(0, 200)),
    now_minutes=st.integers(0, 400),
    extra_seconds=st.integers(0, 59),
    stale_seconds=st.integers(1, 3600),
)
def test_stale_symbols_match_a_naive_reference(
    needed: set[str],
    current: set[str],
    last: dict[str, int],
    now_minutes: int,
    extra_seconds: int,
    stale_seconds: int,
) -> None:
    now = OPEN + timedelta(minutes=now_minutes, seconds=extra_seconds)
    bars = {s: _bar(s, now_minutes) for s in current}
    earlier = {s: _bar(s, m) for s, m in last.items() if m < now_minutes}
    stale_after = timedelta(seconds=stale_seconds)
    found = stale_symbols(needed, bars, earlier, since=OPEN, now=now, stale_after=stale_after)
    assert found == _reference(needed, bars, earlier, now, stale_after)
    assert found == sorted(found) and set(found) <= needed - set(bars)


@given(needed=st.sets(st.sampled_from(SYMBOLS), min_size=1), minute=st.integers(1, 300))
def test_a_symbol_quoted_this_minute_or_just_before_is_never_stale(
    needed: set[str], minute: int
) -> None:
    now = OPEN + timedelta(minutes=minute + 1)
    earlier = {s: _bar(s, minute) for s in needed}
    assert (
        stale_symbols(needed, {}, earlier, since=OPEN, now=now, stale_after=timedelta(seconds=1))
        == []
    )
    assert stale_symbols(
        needed,
        {},
        earlier,
        since=OPEN,
        now=now + timedelta(seconds=2),
        stale_after=timedelta(seconds=1),
    ) == sorted(needed)
