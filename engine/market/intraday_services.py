"""Intraday market-data use cases: store minute bars, derive the daily bars they add up to,
install a synthetic intraday market.

Derived daily bars go through the daily bar store (``MarketRepository.put_bars``), so every
daily reader (replay clock, charts, marks) works on an intraday market unchanged; like any
stored bar, a daily bar already stored for that day is kept as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from core.errors import DomainError, RuleViolation
from engine.market.feeds import MinuteBar, QuoteFeed
from engine.market.intraday import check_minute_bar, daily_from_minutes
from engine.market.model import Bar, Instrument, Market, Symbol
from engine.market.services import MarketUnitOfWork, _refuse_mixed_sources
from engine.market.sessions import sessions_for
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed


@dataclass(frozen=True, slots=True)
class IntradayInstall:
    instruments: tuple[Instrument, ...]
    days: tuple[date, ...]
    minute_bars: int  # new minute bars stored
    daily_bars: int  # new daily bars derived


def store_minute_bars(uow: MarketUnitOfWork, bars: Sequence[MinuteBar], *, source: str) -> int:
    """Check and store minute bars of known instruments (all or nothing); returns how many
    were new. A bar must start inside a session of its instrument's exchange (rule
    ``outside_session``) and pass ``check_minute_bar``."""
    previous: dict[Symbol, MinuteBar] = {}
    for bar in bars:
        check_minute_bar(bar, previous=previous.get(bar.symbol))
        previous[bar.symbol] = bar
    with uow:
        instruments = uow.market.instruments_of(b.symbol for b in bars)
        for bar in bars:
            instrument = instruments.get(bar.symbol) or uow.market.require_instrument(bar.symbol)
            if not sessions_for(instrument.market).is_open(bar.start):
                raise RuleViolation(
                    f"{bar.symbol} {bar.start.isoformat()}: the exchange is closed",
                    field="bars",
                    rule="outside_session",
                )
        stored = uow.minutes.put_minute_bars(
            bars,
            local_day=lambda b: sessions_for(instruments[b.symbol].market).local_day(b.start),
            source=source,
        )
        uow.commit()
    return stored


def derive_daily_bars(uow: MarketUnitOfWork, symbols: Iterable[Symbol], day: date) -> int:
    """Aggregate the stored minutes of ``symbols`` on exchange-local ``day`` into daily bars
    and store them with the minutes' source; returns how many daily bars were new."""
    wanted = list(dict.fromkeys(symbols))
    with uow:
        minutes = uow.minutes.minute_bars_of_day(wanted, day)
        sources = uow.minutes.sources_of(wanted, day)
        by_source: dict[str, list[Bar]] = defaultdict(list)
        for bar in daily_from_minutes(minutes, local_day=lambda _: day):
            _refuse_mixed_sources(uow.market, bar.symbol, sources[bar.symbol])
            by_source[sources[bar.symbol]].append(bar)
        stored = sum(uow.market.put_bars(bars, source=s) for s, bars in by_source.items())
        uow.commit()
    return stored


def install_synthetic_intraday(
    uow: MarketUnitOfWork,
    market: Market,
    *,
    count: int,
    seed: int,
    start: date,
    sessions: int,
    instruments: Sequence[Instrument] | None = None,
) -> IntradayInstall:
    """A synthetic universe with ``sessions`` sessions of minute bars from ``start``, and the
    daily bars derived from them; running it again stores nothing new. ``instruments`` (of
    ``market``) replaces the default ``synthetic_universe(market, count, seed=seed)``: the
    season simulation gives its minute contest symbols of their own, since a symbol's bars
    come from one source."""
    if instruments is None:
        instruments = synthetic_universe(market, count, seed=seed)
    feed = SyntheticIntradayFeed(instruments, seed=seed, start=start, sessions=sessions)
    with uow:
        uow.market.add_instruments(instruments)
        uow.commit()
    minutes = store_minute_bars(uow, feed.all_minutes(), source=feed.name)
    symbols = [i.symbol for i in instruments]
    days = tuple(s.day for s in feed.sessions)
    daily = sum(derive_daily_bars(uow, symbols, day) for day in days)
    return IntradayInstall(tuple(instruments), days, minutes, daily)


# A symbol never polled yet starts this far back (its last session, over a weekend).
FIRST_POLL = timedelta(days=4)
# However long the feed was unpolled, one poll reaches back at most this far.
MAX_POLL_SPAN = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """What one ``poll_feed`` did: minute bars stored, daily bars derived, per-symbol errors."""

    stored: int = 0
    derived: int = 0
    errors: dict[Symbol, str] = field(default_factory=dict)


def _minute_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def poll_feed(
    uow: MarketUnitOfWork, feed: QuoteFeed, symbols: Sequence[Symbol], *, now: datetime
) -> FeedPoll:
    """Poll ``feed`` for the minutes of ``symbols`` that have ended and are available at
    ``now`` (their end plus the feed's delay has passed), each symbol from its last stored
    minute on; store them (``store_minute_bars``, one symbol at a time, so a bad one never
    stops the others), then derive the daily bars of every session in the polled span that has
    closed by then (``derive_daily_bars``; a stored daily bar is kept as it is). A symbol the
    feed reports, or whose bars or daily bar are refused, is named in ``errors``."""
    wanted = list(dict.fromkeys(symbols))
    until = _minute_floor(now - feed.delay)  # a bar that starts before it has ended by then
    with uow.reading():
        last = uow.minutes.last_starts(wanted)
        instruments = uow.market.instruments_of(wanted)
    errors = {s: "no such instrument" for s in wanted if s not in instruments}
    by_since: dict[datetime, list[Symbol]] = defaultdict(list)
    for symbol in (s for s in wanted if s in instruments):
        since = last[symbol] + timedelta(minutes=1) if symbol in last else until - FIRST_POLL
        by_since[max(since, until - MAX_POLL_SPAN)].append(symbol)
    stored = derived = 0
    for since, group in sorted(by_since.items()):
        if since >= until:
            continue
        batch = feed.poll(group, since, until)
        errors |= dict(batch.errors)
        bars: dict[Symbol, list[MinuteBar]] = defaultdict(list)
        for bar in batch.bars:
            bars[bar.symbol].append(bar)
        for symbol in group:
            calendar = sessions_for(instruments[symbol].market)
            try:
                stored += store_minute_bars(uow, bars.get(symbol, []), source=feed.name)
                closed = [
                    day
                    for day in calendar.trading_days(
                        calendar.local_day(since), calendar.local_day(until)
                    )
                    if calendar.session_close(day) <= until
                ]
                with uow.reading():
                    have = (
                        set(uow.minutes.days_with_minutes([symbol], closed[0], closed[-1]))
                        if closed
                        else set()
                    )
                derived += sum(derive_daily_bars(uow, [symbol], d) for d in closed if d in have)
            except DomainError as refused:  # bad bars, or a daily bar refused (mixed sources)
                errors[symbol] = str(refused)
    return FeedPoll(stored, derived, errors)
