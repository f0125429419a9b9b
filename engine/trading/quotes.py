"""Quotes and intraday charts as members may see them: the trading screen's market data.

**No look-ahead.** A replay minute contest has every minute of its sessions stored before it
ticks them; what it has not ticked yet is its future. ``minute_cutoff`` is the instant before
which minute bars are visible: the earliest among the running contests that trade the symbol
(a minute contest's last ticked bar, a daily contest's revealed day, the eve of a contest not
started yet), exactly as ``services.visible_bars`` limits daily bars; ``contest_id`` narrows it
to that contest's own clock (operators too). The last price, the previous close, the band and
the day's minute bars are all read before that cutoff.

**Staleness** is the order desk's ``stale_feed`` gate, judged at the wall clock on the stored
quotes the desk reads (``order_desk.QUOTE_LOOKBACK``), so the screen warns exactly when an
order would be refused; it applies to minute contests (and to symbols quoted by the minute
without a contest). The **delay** is the one the minute bars' feed states (Yahoo's 30 minutes
on Shanghai and Shenzhen, none for the tape or the synthetic generator).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.errors import RuleViolation
from engine.market.feeds import ONE_MINUTE, MinuteBar
from engine.market.model import Instrument, Market
from engine.market.sessions import ExchangeSessions, sessions_for
from engine.market.yfinance_intraday import YAHOO_DELAY, YFinanceIntradayFeed
from engine.trading.order_desk import QUOTE_LOOKBACK
from engine.trading.rules import PriceBand, rule_pack
from engine.trading.store import ContestRow
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import require_contest, venue_of

OPEN, LUNCH_BREAK, CLOSED = "open", "lunch_break", "closed"
MINUTE = "minute"


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """The exchange at an instant: ``open``, ``lunch_break`` or ``closed``, and when it next
    opens (``None`` while open)."""

    state: str
    next_open: datetime | None


@dataclass(frozen=True, slots=True)
class Quote:
    instrument: Instrument
    price: Decimal | None  # the last visible minute close, else the last visible daily close
    at: datetime | None  # the start of that minute, or the close of that day's session
    day: date | None  # the exchange-local day of the price
    intraday: bool  # the price is a minute bar's close
    previous_close: Decimal | None
    change: Decimal | None
    change_pct: Decimal | None
    band: PriceBand | None
    delay: timedelta
    age: timedelta | None  # how long ago the price's bar ended
    stale: bool
    session: SessionStatus


def session_status(calendar: ExchangeSessions, at: datetime) -> SessionStatus:
    session = calendar.session(calendar.local_day(at))
    if session is not None and session.contains(at):
        return SessionStatus(OPEN, None)
    state = LUNCH_BREAK if session is not None and session.in_break(at) else CLOSED
    return SessionStatus(state, calendar.next_open(at))


def stated_delay(source: str, market: Market) -> timedelta:
    """The delay a bar source states: Yahoo's per market, none for every other source."""
    return YAHOO_DELAY[market] if source.startswith(YFinanceIntradayFeed.name) else timedelta(0)


def feed_stale(
    calendar: ExchangeSessions, at: datetime, last: MinuteBar | None, stale_after: timedelta
) -> bool:
    """The order desk's ``stale_feed`` rule: the market is open and the last quote ended more
    than ``stale_after`` ago (or there is none)."""
    if not calendar.is_open(at):
        return False
    return last is None or at - last.end > stale_after


def _local_midnight(calendar: ExchangeSessions, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=calendar.tz).astimezone(UTC)


def _contest_cutoff(uow: TradingUnitOfWork, row: ContestRow, symbol: str) -> datetime | None:
    """Where ``row``'s clock stands for ``symbol``'s minutes; ``None`` when it hides nothing
    (its window has no bar of the symbol left to reveal)."""
    calendar = sessions_for(row.market)
    if row.bar_interval == MINUTE and row.intraday_bar is not None:
        cutoff = row.intraday_bar + ONE_MINUTE
        session = calendar.session(row.trading_end)
        if session is not None and row.clock_day == row.trading_end and cutoff >= session.close:
            return None  # its last session has closed
        return cutoff
    if row.bar_interval == MINUTE or row.clock_day is None:
        return _local_midnight(calendar, row.trading_start)
    following = uow.market.next_trading_day([symbol], row.clock_day)
    if following is None or following > row.trading_end:
        return None
    return _local_midnight(calendar, row.clock_day + timedelta(days=1))


def _own_cutoff(row: ContestRow) -> datetime:
    """A contest's own clock, finished or not (its ``contest_id`` view)."""
    calendar = sessions_for(row.market)
    if row.bar_interval == MINUTE:
        if row.intraday_bar is not None:
            return row.intraday_bar + ONE_MINUTE
        return _local_midnight(calendar, row.trading_start)
    day = row.clock_day or row.trading_start - timedelta(days=1)
    return _local_midnight(calendar, day + timedelta(days=1))


def minute_cutoff(
    uow: TradingUnitOfWork, symbol: str, *, contest: ContestRow | None, operator: bool
) -> datetime | None:
    """Minute bars starting before this instant reveal no running contest's future (``None``:
    every stored bar is visible). Call inside a transaction."""
    cutoffs = []
    if not operator:
        for row in uow.trading.running_contests():
            if symbol in row.universe and (cut := _contest_cutoff(uow, row, symbol)) is not None:
                cutoffs.append(cut)
    if contest is not None:
        cutoffs.append(_own_cutoff(contest))
    return min(cutoffs, default=None)


def _contest_for(uow: TradingUnitOfWork, symbol: str, contest_id: int | None) -> ContestRow | None:
    if contest_id is None:
        return None
    contest = require_contest(uow, contest_id)
    if symbol not in contest.universe:
        raise RuleViolation(
            f"{symbol!r} is not traded in contest {contest_id}",
            field="symbol",
            rule="not_in_universe",
        )
    return contest


def visible_minutes(
    uow: TradingUnitOfWork,
    symbol: str,
    *,
    day: date | None,
    contest_id: int | None = None,
    operator: bool = False,
    now: datetime,
) -> tuple[date | None, list[MinuteBar]]:
    """The minute bars of exchange-local ``day`` (default: the day of the last visible minute)
    that reveal no contest's future, oldest first, with the day they belong to."""
    with uow.reading():
        instrument = uow.market.require_instrument(symbol)
        contest = _contest_for(uow, symbol, contest_id)
        cutoff = minute_cutoff(uow, symbol, contest=contest, operator=operator)
        if day is None:
            last = uow.minutes.last_minute_bar(symbol, cutoff or now)
            if last is None:
                return None, []
            day = sessions_for(instrument.market).local_day(last.start)
        bars = uow.minutes.minute_bars_of_day([symbol], day)
    return day, [b for b in bars if cutoff is None or b.start < cutoff]


def _desk_quote(uow: TradingUnitOfWork, symbol: str, now: datetime) -> MinuteBar | None:
    """The quote the order desk judges staleness on: the last bar ended by ``now``."""
    found = uow.minutes.minute_bars([symbol], now - QUOTE_LOOKBACK, now - ONE_MINUTE)
    return found[-1] if found else None


def quote(
    uow: TradingUnitOfWork,
    symbol: str,
    *,
    contest_id: int | None = None,
    operator: bool = False,
    now: datetime,
    stale_after: timedelta,
) -> Quote:
    """``symbol``'s quote at ``now`` as the contest (or every running contest) may see it."""
    with uow.reading():
        instrument = uow.market.require_instrument(symbol)
        contest = _contest_for(uow, symbol, contest_id)
        calendar = sessions_for(instrument.market)
        rules = venue_of(contest).rules if contest is not None else rule_pack(instrument.market)
        cutoff = minute_cutoff(uow, symbol, contest=contest, operator=operator)
        minute = uow.minutes.last_minute_bar(symbol, cutoff or now)
        source = instrument.source
        day: date | None
        price: Decimal | None
        at: datetime | None
        ended: datetime | None
        if minute is not None:
            day = calendar.local_day(minute.start)
            price, at, ended = minute.close, minute.start, minute.end
            previous = uow.market.previous_closes([symbol], day).get(symbol)
            band_base = previous
            source = uow.minutes.sources_of([symbol], day).get(symbol, source)
        else:
            horizon = calendar.local_day(cutoff) if cutoff is not None else date.max
            dated = uow.market.previous_closes_dated([symbol], horizon).get(symbol)
            day, price = dated if dated is not None else (None, None)
            earlier = {} if day is None else uow.market.previous_closes([symbol], day)
            previous = earlier.get(symbol)
            session = None if day is None else calendar.session(day)
            at = ended = None if session is None else session.close
            band_base = price
        desk_quote = _desk_quote(uow, symbol, now)
        intraday = contest.bar_interval == MINUTE if contest is not None else minute is not None
    change = None if price is None or previous is None else price - previous
    return Quote(
        instrument=instrument,
        price=price,
        at=at,
        day=day,
        intraday=minute is not None,
        previous_close=previous,
        change=change,
        change_pct=None
        if change is None or not previous
        else (change * 100 / previous).quantize(Decimal("0.01"), ROUND_HALF_UP),
        band=rules.price_band(instrument.board, band_base),
        delay=stated_delay(source, instrument.market),
        age=None if ended is None else max(now - ended, timedelta(0)),
        stale=intraday and feed_stale(calendar, now, desk_quote, stale_after),
        session=session_status(calendar, now),
    )
