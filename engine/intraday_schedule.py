"""When a minute contest's bars are due: the worker's ``contest.intraday`` windows.

A minute contest ticks every trading minute of its exchange's sessions (lunch break excluded)
whose day lies in its trading window, after its last ticked bar (``intraday_bar``), once the
bar has ended and is available: a **live** contest's bar is due when its end plus the feed's
delay has passed on the wall clock; a **replay** contest (minute bars already stored) walks
its minutes at a pace the worker chooses, as far ahead as it likes (its time is the bar's).

``due_bars`` is the pure arithmetic; ``minute_contests`` reads which contests are due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.clock import utc_now
from core.errors import RuleViolation
from engine.contests import seasons
from engine.contests import services as contests
from engine.contests.model import ContestState, DataSource
from engine.intraday_clock import IntradayTick, run_intraday_tick
from engine.market.feeds import ONE_MINUTE
from engine.market.model import ONE_DAY, Market
from engine.market.sessions import ExchangeSessions, sessions_for
from engine.trading.intraday import STALE_AFTER
from engine.trading.venue import require_contest
from engine.uow import EngineUnitOfWork

# A replay's minutes are all stored: a symbol without a bar for a while has not traded, its
# feed is not out, so the replay's feed age check is this lenient (its time is the bar's).
REPLAY_STALE_AFTER = timedelta(days=1)
# The most minutes one call ticks (a CN session has 240, a regular US one 390).
MAX_TICKS = 390

# A minute contest ticks from its first session on, whatever its registration window says:
# the wall clock (or the replay) opens its sessions, not an operator's clock call.
INTRADAY_DUE = (ContestState.REGISTRATION, ContestState.WAITING, ContestState.RUNNING)


def due_bars(
    calendar: ExchangeSessions,
    *,
    after: datetime | None,
    first_day: date,
    last_day: date,
    until: datetime | None,
    limit: int,
) -> list[datetime]:
    """The starts of the trading minutes of ``calendar``'s sessions on days in ``[first_day,
    last_day]`` that come after ``after`` (None: from the first session) and have ended by
    ``until`` (``start + 1 minute <= until``; None: no bound), earliest first, at most
    ``limit``."""
    bars: list[datetime] = []
    if limit <= 0:
        return bars
    day = first_day if after is None else max(first_day, calendar.local_day(after))
    if until is not None:
        last_day = min(last_day, calendar.local_day(until))
    while day <= last_day:
        session = calendar.session(day)
        if session is not None and (after is None or session.close > after):
            for start in session.minutes():
                if after is not None and start <= after:
                    continue
                if until is not None and start + ONE_MINUTE > until:
                    return bars
                bars.append(start)
                if len(bars) == limit:
                    return bars
        day += ONE_DAY
    return bars


def replay_bar_count(last_run: datetime | None, now: datetime, *, pace: timedelta, cap: int) -> int:
    """How many minutes a replay contest walks in one look: one per ``pace`` since its last
    tick ran (one if it never ran; every due one, up to ``cap``, when the pace is zero)."""
    if pace <= timedelta(0):
        return cap
    if last_run is None:
        return min(1, cap)
    return max(0, min(cap, (now - last_run) // pace))


@dataclass(frozen=True, slots=True)
class MinuteContest:
    """What the schedule needs of one minute contest."""

    contest_id: int
    market: Market
    universe: tuple[str, ...]
    trading_start: date
    trading_end: date
    intraday_bar: datetime | None
    live: bool


def minute_contests(uow: EngineUnitOfWork, *, now: datetime | None = None) -> list[MinuteContest]:
    """The minute contests whose intraday clock may tick at ``now`` (see ``INTRADAY_DUE``),
    ascending by id; a settled or finished contest, or one of an ended season, is not."""
    moment = now or utc_now()
    found: list[MinuteContest] = []
    after = None
    while True:
        page, after = contests.list_contests(
            uow, states=INTRADAY_DUE, after=after, limit=200, now=moment
        )
        for contest in page:
            if contest.bar_interval != "minute":
                continue
            found_one = minute_contest(uow, contest.id, now=moment)
            if found_one is not None:
                found.append(found_one)
        if after is None:
            break
    return sorted(found, key=lambda c: c.contest_id)


def minute_contest(
    uow: EngineUnitOfWork, contest_id: int, *, now: datetime | None = None
) -> MinuteContest | None:
    """Minute contest ``contest_id`` as the schedule sees it; None when it is not a minute
    contest of a season, or its season has ended at ``now``."""
    moment = now or utc_now()
    with uow.reading():
        row = uow.trading.contest(contest_id)
        if row is None or row.season_id is None or row.bar_interval != "minute":
            return None
        season = seasons.require_season(uow, row.season_id)
        if seasons.has_ended(season, moment):
            return None
        return MinuteContest(
            contest_id=row.id,
            market=Market(row.market),
            universe=tuple(row.universe),
            trading_start=row.trading_start,
            trading_end=row.trading_end,
            intraday_bar=row.intraday_bar,
            live=DataSource(season.data_source) is DataSource.LIVE,
        )


@dataclass(frozen=True, slots=True)
class IntradayRun:
    """What ``tick_due_bars`` did: the bars it ticked, in order, and, if it stopped at a bar
    whose feed is stale, that bar and the stale symbols."""

    contest_id: int
    ticks: tuple[IntradayTick, ...] = ()
    stale_bar: datetime | None = None
    stale: tuple[str, ...] = ()

    @property
    def fills(self) -> int:
        return sum(len(t.fills) for t in self.ticks)

    @property
    def sessions_closed(self) -> int:
        return sum(t.session_closed for t in self.ticks)


def tick_due_bars(
    uow: EngineUnitOfWork,
    contest_id: int,
    *,
    through: datetime | None = None,
    now: datetime | None = None,
    delay: timedelta = timedelta(0),
    limit: int = MAX_TICKS,
    stale_after: timedelta = STALE_AFTER,
) -> IntradayRun:
    """Tick minute contest ``contest_id`` at each due minute after its last ticked bar, in
    order, up to ``through`` (a bar start; None: a live contest's bars available at ``now``
    behind the feed's ``delay``, a replay's next ``limit`` stored minutes), at most
    ``limit``. A live contest's feed age is judged at ``now``; a replay's at each bar's end.
    Stops at the first bar whose feed is stale (nothing ticked from it on). The worker's
    ``contest.intraday`` job and ``paperleague contest tick-intraday`` both call this."""
    moment = now or utc_now()
    contest = minute_contest(uow, contest_id, now=moment)
    if contest is None:
        with uow.reading():
            interval = require_contest(uow, contest_id).bar_interval
        if interval != "minute":
            raise RuleViolation(
                "only a minute contest ticks intraday", field="bar_interval", rule="minute_only"
            )
        return IntradayRun(contest_id)  # a contest of an ended season: its clock is stopped
    until = None if through is None else through + ONE_MINUTE
    if contest.live:
        available = moment - delay
        until = available if until is None else min(until, available)
    bars = due_bars(
        sessions_for(contest.market),
        after=contest.intraday_bar,
        first_day=contest.trading_start,
        last_day=contest.trading_end,
        until=until,
        limit=limit,
    )
    ticks: list[IntradayTick] = []
    for bar in bars:
        at, age = (moment, stale_after) if contest.live else (bar + ONE_MINUTE, REPLAY_STALE_AFTER)
        tick = run_intraday_tick(uow, contest_id, bar, now=at, stale_after=age)
        if tick.feed_stale:
            return IntradayRun(contest_id, tuple(ticks), bar, tick.feed_stale)
        ticks.append(tick)
    return IntradayRun(contest_id, tuple(ticks))
