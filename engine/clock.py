"""The contest clock: each revealed day is one transaction, then an explicit list of steps
that run only once it has committed.

A day (``_day``), under the contest's row lock: trading reveals the bars, fills and books
orders and marks every account (``engine.trading.next_day``); the standings rank the day
(``engine.contests.standings.record_tick``); PK rounds that end on it are judged
(``pk_rounds.on_tick``). After the commit: the process keeps the day's books and standings
for the next tick and for readers (``EngineCaches``). After all the days: referral rewards for
first trades and PK round awards are paid, each idempotent, so a crash between a day's commit
and its awards is caught up by the next call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial

from core.clock import utc_now
from core.errors import Conflict, RuleViolation
from engine.contests import pk_rounds, rules, seasons, standings
from engine.contests import services as contests
from engine.contests.leaderboard import keep_standings
from engine.contests.model import ContestState, DataSource, local_today, trading_over, zone
from engine.trading.next_day import TradedDay, keep_books, trade_next_day
from engine.trading.orders import Fill
from engine.trading.services import pay_referrals, venue
from engine.trading.store import ContestRow
from engine.trading.venue import Venue, require_contest, venue_of
from engine.uow import EngineUnitOfWork

AfterCommit = Callable[[], None]


@dataclass(frozen=True, slots=True)
class ClockReport:
    contest_id: int
    days: list[date]
    fills: int
    clock_day: date | None
    finished: bool
    # What the revealed days gave, for followers of the whole contest (bots, the season
    # simulation): every fill in booking order, and the closes printed on the last day.
    booked: tuple[Fill, ...] = ()
    closes: dict[str, Decimal] = field(default_factory=dict)


def advance_clock(
    uow: EngineUnitOfWork,
    contest_id: int,
    *,
    bars: int = 1,
    until: date | None = None,
    now: datetime | None = None,
) -> ClockReport:
    """Reveal up to ``bars`` more trading days, one transaction per day, none after ``until``
    (a live contest passes the last day that has ended). ``now`` stamps the referral and PK
    round awards paid after the days commit (default: the wall clock)."""
    days: list[date] = []
    booked: list[Fill] = []
    closes: dict[str, Decimal] = {}
    current: Venue | None = None
    for _ in range(bars):
        with uow:
            contest = require_contest(uow, contest_id, lock=True)
            day = _day(uow, contest, until)
            current = venue_of(contest)
            if day is None:
                break
            traded, after_commit = day
            uow.commit()
        for step in after_commit:
            step()
        days.append(traded.day)
        booked += traded.fills
        closes = traded.closes
    pay_referrals(uow, contest_id, now=now)
    pk_rounds.pay_round_awards(uow, contest_id, now=now)
    if current is None:  # no bar asked for
        current = venue(uow, contest_id)
    finished = current.clock_day is not None and current.clock_day >= current.trading_end
    if finished and current.bar_interval == "minute":  # over once its last session closed
        with uow.reading():
            row = require_contest(uow, contest_id)
            finished = trading_over(
                clock_day=row.clock_day,
                trading_end=row.trading_end,
                minute=True,
                closed_day=row.closed_day,
            )
    return ClockReport(
        contest_id=contest_id,
        days=days,
        fills=len(booked),
        clock_day=current.clock_day,
        finished=finished,
        booked=tuple(booked),
        closes=closes,
    )


def _day(
    uow: EngineUnitOfWork, contest: ContestRow, until: date | None
) -> tuple[TradedDay, list[AfterCommit]] | None:
    """One day inside the open transaction, and what to run once it commits. The first day
    also fixes the contest's rules (its snapshot, in this same transaction)."""
    if contest.bar_interval == "minute":  # ticked per minute bar: engine.intraday_clock
        return None
    first = contest.clock_day is None
    traded = trade_next_day(uow, contest, until)
    if traded is None:
        return None
    if first:
        rules.lock_rules(uow, contest, now=utc_now())
    ranked = standings.record_tick(
        uow, contest, traded.day, traded.books, traded.equity, fills=traded.fills
    )
    pk_rounds.on_tick(uow, contest, traded.day)
    after_commit: list[AfterCommit] = [partial(keep_books, uow, contest.id, traded)]
    if ranked is not None:
        key = (uow.source(), contest.id, contest.clock_ticks)
        after_commit.append(partial(keep_standings, uow.caches, key, ranked))
    return traded, after_commit


def advance_contest_clock(
    uow: EngineUnitOfWork,
    contest_id: int,
    *,
    bars: int = 1,
    until: date | None = None,
    now: datetime | None = None,
) -> ClockReport:
    """The operator's (or scheduler's) clock call: reveal up to ``bars`` trading days, none
    after ``until`` (a call naming its target day is safe to retry: the second reveals nothing).

    A replay contest walks its stored bars as fast as it is called; a live one never reveals a
    day that has not ended in the season's time zone. An ended season's clock is stopped.
    """
    if bars < 1:
        raise RuleViolation("advance at least one bar", field="bars", rule="minimum")
    moment = now or utc_now()
    with uow.reading():
        row = require_contest(uow, contest_id)
        season = seasons.require_season(uow, row.season_id or 0)
        seasons.refuse_if_ended(season, moment)
        if row.settled_at is not None:
            raise Conflict("the contest is settled", field="contest_id", rule="settled")
        if DataSource(season.data_source) is DataSource.LIVE:
            ended = local_today(moment, zone(season.timezone)) - timedelta(days=1)
            until = ended if until is None else min(until, ended)
    return advance_clock(uow, contest_id, bars=bars, until=until, now=moment)


CLOCK_DUE = (ContestState.WAITING, ContestState.RUNNING)


def due_contest_ids(
    uow: EngineUnitOfWork,
    *,
    now: datetime | None = None,
    states: Sequence[ContestState] = CLOCK_DUE,
) -> list[int]:
    """The contests in ``states`` at ``now``, ascending; by default those a scheduler
    advances: running, or waiting with their registration closed (a contest without a closing
    time starts only on an operator's clock call). ``FINISHED`` ones are due for settlement."""
    moment = now or utc_now()
    due: list[int] = []
    after = None
    while True:
        page, after = contests.list_contests(
            uow,
            states=states,
            after=after,
            limit=200,
            now=moment,
        )
        due += [c.id for c in page]
        if after is None:
            break
    return sorted(due)


@dataclass(frozen=True, slots=True)
class DueDays:
    """The trading days a contest's clock would reveal now, ascending; ``live`` tells a live
    contest (days that have ended) from a replay one (its next stored day)."""

    days: list[date]
    live: bool


def due_days(uow: EngineUnitOfWork, contest_id: int, *, now: datetime | None = None) -> DueDays:
    """The trading days the contest's clock would reveal at ``now``: a live contest's stored
    days that have ended (all of them: a scheduler that missed some catches up); a replay
    contest's next stored day (it walks as fast as it is called). No days for a settled contest
    or an ended season."""
    moment = now or utc_now()
    with uow.reading():
        row = require_contest(uow, contest_id)
        season = seasons.require_season(uow, row.season_id or 0)
        live = DataSource(season.data_source) is DataSource.LIVE
        if row.settled_at is not None or seasons.has_ended(season, moment):
            return DueDays([], live)
        if row.bar_interval == "minute":  # ticked per minute bar: the contest.intraday job
            return DueDays([], live)
        v = venue_of(row)
        start = v.trading_start if v.clock_day is None else v.clock_day + timedelta(days=1)
        if live:
            end = min(v.trading_end, local_today(moment, zone(season.timezone)) - timedelta(days=1))
            return DueDays(
                uow.market.trading_days(v.universe, start, end) if start <= end else [], live
            )
        return DueDays(uow.market.trading_days(v.universe, start, v.trading_end)[:1], live)


def tick_due_contests(
    uow: EngineUnitOfWork, *, bars: int = 1, now: datetime | None = None
) -> list[ClockReport]:
    """The scheduler's call (cron, a systemd timer): advance every contest that is due (see
    ``due_contest_ids``). Contests of ended seasons are left alone."""
    moment = now or utc_now()
    reports = []
    for contest_id in due_contest_ids(uow, now=moment):
        try:
            reports.append(advance_contest_clock(uow, contest_id, bars=bars, now=moment))
        except seasons.SeasonEnded:
            continue
    return reports
