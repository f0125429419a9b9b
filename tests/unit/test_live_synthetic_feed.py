"""The live synthetic feed: minute bars for any session (today's included), the same for a
symbol whatever else is polled with it or in what pieces, and only inside the sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import LiveSyntheticFeed

INSTRUMENTS = synthetic_universe(Market.CN, 3, seed=21)
SYMBOLS = [i.symbol for i in INSTRUMENTS]
DAY = date(2027, 6, 8)  # beyond any stored bar: a live session
SESSION = sessions_for(Market.CN).session(DAY)
assert SESSION is not None


def test_a_session_has_every_minute_and_unknown_symbols_are_reported() -> None:
    feed = LiveSyntheticFeed(INSTRUMENTS, seed=5)
    batch = feed.poll([SYMBOLS[0], "NOPE"], SESSION.open - timedelta(hours=1), SESSION.close)
    assert [b.start for b in batch.bars] == SESSION.minutes()
    assert set(batch.errors) == {"NOPE"}


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(1, 239), alone=st.sampled_from(SYMBOLS))
def test_a_symbols_bars_do_not_depend_on_the_poll(cut: int, alone: str) -> None:
    together = LiveSyntheticFeed(INSTRUMENTS, seed=5).poll(SYMBOLS, SESSION.open, SESSION.close)
    mine = [b for b in together.bars if b.symbol == alone]
    split_at = SESSION.minutes()[cut]
    feed = LiveSyntheticFeed([i for i in INSTRUMENTS if i.symbol == alone], seed=5)
    pieces = feed.poll([alone], SESSION.open, split_at).bars
    pieces = [*pieces, *feed.poll([alone], split_at, SESSION.close).bars]
    assert pieces == mine
    other_seed = LiveSyntheticFeed(INSTRUMENTS, seed=6).poll([alone], SESSION.open, split_at)
    assert other_seed.bars != pieces[: len(other_seed.bars)]
    assert all(SESSION.contains(b.start) for b in pieces)


def test_nothing_outside_the_sessions() -> None:
    saturday = datetime(2027, 6, 12, tzinfo=UTC)
    feed = LiveSyntheticFeed(INSTRUMENTS, seed=5)
    assert feed.poll(SYMBOLS, saturday, saturday + timedelta(days=1)).bars == []
