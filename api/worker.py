"""``paperleague worker``: the one owner of the scheduled jobs.

Jobs (each a ``core.jobs.Job``: a name, its due windows, how to run one):

- ``contest.day`` — per contest and trading day: the contest clock reveals the day (fills,
  end-of-day marks, standings, PK rounds ending that day, then the PK and referral awards), the
  same ``engine.clock.advance_contest_clock`` the operator's clock button and ``contest clock``
  call. A live contest catches up every ended day; a replay contest walks one day per
  ``--replay-pace`` (a day by default).
- ``contest.settle`` — per finished contest: ``engine.contests.settlement.settle_contest``.
- ``ledger.expire`` — per day at 00:30 Beijing time: lapsed holds and old points
  (``ledger.engagement.expire_due``, as of the window's run time, so a missed day catches up
  exactly as if it had run on time).
- ``ledger.root`` — every 10 minutes: ``ledger.services.seal_root`` (a seal over every shard
  chain's head, written only when one moved), as ``ledger seal-root`` does.
- ``content.anchor`` — every 10 minutes: ``notary.rounds.anchor_round`` (content, contests'
  rules and results, finality), as ``content anchor`` does.
- ``webhooks.deliver`` — every minute: ``core.webhooks.dispatch_once``.

- ``market.intraday`` — every minute: the configured quote feed (``intraday_feed``) polled
  into the minute store for the live minute contests' symbols, daily bars derived once a
  session closes. It runs first, so a ``--once`` pass ticks the bars it stored.
- ``contest.intraday`` — per minute contest and minute bar: ``engine.intraday_clock``'s tick
  (fills at the next quote, marks, the session's close and ranking). A live contest follows
  the wall clock behind the feed's delay and catches up missed minutes in order; a replay one
  walks its stored minutes, one per ``--intraday-pace``. A stale feed fails the window, so it
  is retried (see ``contest_intraday_job``).

Why APScheduler 3.x, and our own claims table. The jobs are few, database-bound, and must run
exactly once per (job, series, bar), with missed windows caught up, on SQLite (the embedded
default) as on PostgreSQL. APScheduler 3 (mature, maintained, no broker) supplies the triggers
and the in-process guarantees: one running instance per job (``max_instances=1``; an overrun
tick is skipped), missed ticks coalesced into one. Exactly-once across processes is
``job_runs``: a claim is a unique row (INSERT … ON CONFLICT DO NOTHING) in its own transaction,
with a lease a restarted worker retakes. Task queues (rq, arq, dramatiq, Celery beat) need a
broker (Redis, RabbitMQ) even for a single-node install and enqueue on a clock with no catch-up
of the windows nobody enqueued; procrastinate is PostgreSQL-only; huey's periodic tasks fire
at the minute with no catch-up. APScheduler 4 is still pre-release. Scale-out (issue 17): more
``paperleague worker`` processes share the work through the claims; a Redis queue can later
carry windows to them, with ``job_runs`` staying the record of what ran.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from contracts import anchoring
from contracts.chain import chain_for
from contracts.uow import ContentUnitOfWork
from core import webhooks
from core.clock import utc_now
from core.config import Settings
from core.db import Database
from core.jobs import services as job_services
from core.jobs.model import Job, RunOutcome, Window, daily_windows, periodic_windows
from core.outbox import RetryPolicy
from engine import clock as contest_clock
from engine import intraday_schedule
from engine.contests import settlement
from engine.contests.model import ContestState
from engine.market import intraday_services
from engine.market.feeds import QuoteFeed
from engine.market.model import Instrument, Market
from engine.market.services import MarketUnitOfWork
from engine.market.sessions import sessions_for
from engine.market.synthetic_intraday import LiveSyntheticFeed
from engine.market.yfinance_intraday import YAHOO_DELAY
from engine.trading.services import venue
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger import services as ledger_services
from ledger.services import LedgerUnitOfWork
from notary.rounds import anchor_round

log = logging.getLogger("paperleague.worker")

BEIJING = ZoneInfo("Asia/Shanghai")
EXPIRY_AT = time(0, 30)  # local time of the daily expiry
ANCHOR_EVERY = timedelta(minutes=10)
ROOT_EVERY = timedelta(minutes=10)
MAX_BARS = 1000  # the clock's most days per call
REPLAY_PACE = timedelta(days=1)  # a replay contest's scheduled days, at most one per pace
INTRADAY_PACE = timedelta(minutes=1)  # a replay minute contest: one stored minute per pace
INTRADAY_BARS_PER_LOOK = 240  # the most minute bars one look lists per contest (catch-up)


class FeedStale(RuntimeError):
    """A minute's tick found its feed stale: the window fails, so it is retried."""


def worker_id() -> str:
    """This process, as ``job_runs.worker`` names it: host, pid and a random tag."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


def _contest_id(window: Window) -> int:
    return int(window.series.removeprefix("contest:"))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def contest_day_job(database: Database, *, replay_pace: timedelta = REPLAY_PACE) -> Job:
    """Per contest and trading day: reveal the day through the contest clock. A live contest
    catches up every ended day; a replay contest reveals its next day once ``replay_pace`` has
    passed since its last one (members need time between bars; the operator's clock call
    walks it faster)."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        uow = EngineUnitOfWork(database.sessions)
        runs = job_services.JobsUnitOfWork(database.sessions)
        for contest_id in contest_clock.due_contest_ids(uow, now=now):
            series = f"contest:{contest_id}"
            due = contest_clock.due_days(uow, contest_id, now=now)
            if not due.live and due.days:
                with runs.reading():
                    last = runs.runs.last_finished("contest.day", series)
                if last is not None and now - last < replay_pace:
                    continue
            for day in due.days:
                yield Window(series, day, _day_start(day))

    def run(window: Window, now: datetime) -> str:
        if not isinstance(window.bar, date):
            raise TypeError(f"{window.key}: a contest day's bar is a date")
        uow = EngineUnitOfWork(database.sessions)
        report = contest_clock.advance_contest_clock(
            uow, _contest_id(window), bars=MAX_BARS, until=window.bar, now=now
        )
        shown = ", ".join(day.isoformat() for day in report.days) or "no new bar"
        return f"revealed {shown}: {report.fills} fills, clock at {report.clock_day}"

    return Job("contest.day", due, run, every=timedelta(minutes=1))


def contest_settle_job(database: Database) -> Job:
    """Per finished contest: pay its prizes (a refusal fails the window; it is retried)."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        uow = EngineUnitOfWork(database.sessions)
        for contest_id in contest_clock.due_contest_ids(
            uow, now=now, states=(ContestState.FINISHED,)
        ):
            end = venue(uow, contest_id).trading_end
            yield Window(f"contest:{contest_id}", end, _day_start(end))

    def run(window: Window, now: datetime) -> str:
        report = settlement.settle_contest(
            EngineUnitOfWork(database.sessions), _contest_id(window), now=now
        )
        if not report.settled:
            raise RuntimeError(f"not settled: {len(report.refused)} prizes refused")
        return f"settled: {report.paid_now} prizes paid now, {report.already_paid} already"

    return Job("contest.settle", due, run, every=timedelta(minutes=5))


def ledger_expire_job(database: Database) -> Job:
    """Daily at 00:30 Beijing time: lapsed holds and old points, as of the run time."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        return daily_windows(last_done, now, at=EXPIRY_AT, tz=BEIJING, series="ledger")

    def run(window: Window, now: datetime) -> str:
        report = engagement.expire_due(LedgerUnitOfWork(database.sessions), now=window.due_at)
        return (
            f"released {len(report.holds)} holds, expired {report.points_expired} points "
            f"from {len(report.expired)} members"
        )

    return Job("ledger.expire", due, run, every=timedelta(minutes=5))


def ledger_root_job(database: Database) -> Job:
    """Every 10 minutes: seal the shard chains' heads into a root, if one moved."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        # one seal covers everything before it: missed windows are not worth replaying
        return periodic_windows(last_done, now, every=ROOT_EVERY, series="ledger", catch_up=False)

    def run(window: Window, now: datetime) -> str:
        root = ledger_services.seal_root(LedgerUnitOfWork(database.sessions), now=now)
        return "no head moved" if root is None else f"root {root.id} sealed"

    return Job("ledger.root", due, run, every=timedelta(minutes=1))


def content_anchor_job(database: Database, found: Settings) -> Job:
    """Every 10 minutes: anchor pending content and contests' attestations, advance finality."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        # a missed round is not worth replaying: one round anchors whatever is pending
        return periodic_windows(last_done, now, every=ANCHOR_EVERY, series="chain", catch_up=False)

    def run(window: Window, now: datetime) -> str:
        content = ContentUnitOfWork(database.sessions)
        registry = anchoring.registry_for(content, chain_for(found))
        anchored = anchor_round(
            content,
            EngineUnitOfWork(database.sessions),
            registry,
            confirmations=found.chain_confirmations,
        )
        batch = "nothing pending" if anchored.batch is None else f"batch {anchored.batch.id}"
        return f"{batch}, {len(anchored.attestations.anchored)} attestations anchored"

    return Job("content.anchor", due, run, every=ANCHOR_EVERY)


def webhooks_deliver_job(database: Database, found: Settings) -> Job:
    """Every minute: fan out new outbox events and send the due deliveries."""
    policy = RetryPolicy(max_attempts=found.webhook_max_attempts)

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        every = timedelta(minutes=1)  # one look delivers everything due: no replay
        return periodic_windows(last_done, now, every=every, series="outbox", catch_up=False)

    def run(window: Window, now: datetime) -> str:
        report = webhooks.dispatch_once(
            webhooks.WebhooksUnitOfWork(database.sessions), policy=policy
        )
        return f"{report.fanned_out} fanned out, {report.delivered} delivered"

    return Job("webhooks.deliver", due, run, every=timedelta(minutes=1))


def feed_delay(found: Settings, market: Market) -> timedelta:
    """How far behind the exchange the configured feed's bars of ``market`` arrive."""
    return YAHOO_DELAY[market] if found.intraday_feed == "yfinance" else timedelta(0)


def quote_feed(found: Settings, instruments: list[Instrument]) -> QuoteFeed | None:
    """The configured intraday feed (``Settings.intraday_feed``) over ``instruments``."""
    if found.intraday_feed == "synthetic":
        return LiveSyntheticFeed(instruments, seed=found.intraday_feed_seed)
    if found.intraday_feed == "yfinance":
        from engine.market.yfinance_intraday import YFinanceIntradayFeed

        return YFinanceIntradayFeed(markets=sorted({i.market for i in instruments}))
    return None


def market_intraday_job(database: Database, found: Settings) -> Job:
    """Every minute: poll the configured feed for the symbols of the live minute contests
    into the minute store, and derive the daily bars of the sessions that have closed
    (``intraday_services.poll_feed``). One look polls everything since each symbol's last
    stored minute, so a missed look is not replayed. A symbol's error is reported in the
    summary and does not fail the window: the others' bars are stored, and the next look
    polls the failing symbol again from its last stored minute."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        every = timedelta(minutes=1)
        return periodic_windows(last_done, now, every=every, series="feed", catch_up=False)

    def run(window: Window, now: datetime) -> str:
        uow = EngineUnitOfWork(database.sessions)
        live = [c for c in intraday_schedule.minute_contests(uow, now=now) if c.live]
        symbols = sorted({s for c in live for s in c.universe})
        if not symbols:
            return "no live minute contest"
        market = MarketUnitOfWork(database.sessions)
        with market.reading():
            instruments = list(market.market.instruments_of(symbols).values())
        feed = quote_feed(found, instruments)
        if feed is None:
            return "intraday_feed is none: nothing polled"
        polled = intraday_services.poll_feed(market, feed, symbols, now=now)
        failing = "; ".join(f"{s}: {why}" for s, why in sorted(polled.errors.items()))
        return f"{feed.name}: {polled.stored} minute bars, {polled.derived} daily bars" + (
            f"; errors {failing}" if failing else ""
        )

    return Job("market.intraday", due, run, every=timedelta(minutes=1))


def contest_intraday_job(
    database: Database, found: Settings, *, pace: timedelta = INTRADAY_PACE
) -> Job:
    """Per minute contest and minute bar: tick the bar (``engine.intraday_clock``).

    A live contest's windows are its trading minutes after its last ticked bar that have
    ended and are available behind the feed's delay (all of them, up to
    ``INTRADAY_BARS_PER_LOOK``: a worker that was away catches up in order); a replay
    contest walks its stored minutes, one per ``pace`` since its last tick ran. A window's run
    ticks every due bar through its own (``intraday_schedule.tick_due_bars``), so a bar whose
    window ran out of attempts is ticked by the next one, never skipped. Two workers, or a
    restart, never tick a bar twice: the ``job_runs`` claim, and the tick's own pointer under
    the contest's row lock.

    A stale feed raises ``FeedStale``: returning would mark the window done and the minute
    would not be retried by this window. Raised, the window is recorded failed, the contest's
    later windows wait for this look, and it is retaken at the next look (the minute runs
    once its bars arrive); once its attempts are used up the next window's run ticks it."""

    def due(now: datetime, last_done: datetime | None) -> Iterable[Window]:
        uow = EngineUnitOfWork(database.sessions)
        runs = job_services.JobsUnitOfWork(database.sessions)
        for contest in intraday_schedule.minute_contests(uow, now=now):
            series = f"contest:{contest.contest_id}"
            if contest.live:
                until: datetime | None = now - feed_delay(found, contest.market)
                limit = INTRADAY_BARS_PER_LOOK
            else:
                with runs.reading():
                    last = runs.runs.last_finished("contest.intraday", series)
                until = None
                limit = intraday_schedule.replay_bar_count(
                    last, now, pace=pace, cap=INTRADAY_BARS_PER_LOOK
                )
            bars = intraday_schedule.due_bars(
                sessions_for(contest.market),
                after=contest.intraday_bar,
                first_day=contest.trading_start,
                last_day=contest.trading_end,
                until=until,
                limit=limit,
            )
            for bar in bars:
                yield Window(series, bar, bar)

    def run(window: Window, now: datetime) -> str:
        if not isinstance(window.bar, datetime):
            raise TypeError(f"{window.key}: a minute contest's bar is a bar start")
        contest_id = _contest_id(window)
        uow = EngineUnitOfWork(database.sessions)
        contest = intraday_schedule.minute_contest(uow, contest_id, now=now)
        delay = timedelta(0) if contest is None else feed_delay(found, contest.market)
        stale_after = timedelta(seconds=found.intraday_stale_after_seconds)
        done = intraday_schedule.tick_due_bars(
            uow, contest_id, through=window.bar, now=now, delay=delay, stale_after=stale_after
        )
        if done.stale:
            raise FeedStale(
                f"feed stale at {done.stale_bar}: {', '.join(done.stale)} "
                f"({len(done.ticks)} bars ticked before)"
            )
        return (
            f"ticked {len(done.ticks)} bars: {done.fills} fills, "
            f"{done.sessions_closed} sessions closed"
        )

    return Job("contest.intraday", due, run, every=timedelta(minutes=1))


def standard_jobs(
    database: Database,
    found: Settings,
    *,
    replay_pace: timedelta = REPLAY_PACE,
    intraday_pace: timedelta = INTRADAY_PACE,
) -> list[Job]:
    """Every scheduled job of an installation, in the order a ``--once`` run takes them:
    the feed's bars are stored before the minute contests tick them."""
    return [
        market_intraday_job(database, found),
        contest_intraday_job(database, found, pace=intraday_pace),
        contest_day_job(database, replay_pace=replay_pace),
        contest_settle_job(database),
        ledger_expire_job(database),
        ledger_root_job(database),
        content_anchor_job(database, found),
        webhooks_deliver_job(database, found),
    ]


@dataclass(frozen=True, slots=True)
class Worker:
    """A worker over ``database``: its id, its jobs, its lease on a claim."""

    database: Database
    jobs: Sequence[Job]
    worker: str
    lease: timedelta = job_services.DEFAULT_LEASE

    def run_job(self, job: Job, *, now: datetime | None = None) -> list[RunOutcome]:
        """One look at ``job``: run what is due (and no other worker did)."""
        uow = job_services.JobsUnitOfWork(self.database.sessions)
        try:
            return job_services.run_due(uow, job, worker=self.worker, now=now, lease=self.lease)
        except Exception:  # enumerating failed (e.g. the database is away): try next tick
            log.exception("%s: could not list its due windows", job.name)
            return [RunOutcome(job.name, "", job_services.FAILED, "could not list due windows")]

    def run_once(self, *, now: datetime | None = None) -> list[RunOutcome]:
        """Everything due now, each job in turn (``paperleague worker --once``)."""
        moment = now or utc_now()
        return [outcome for job in self.jobs for outcome in self.run_job(job, now=moment)]

    def serve(self, stop: threading.Event | None = None) -> None:
        """Run every job on its interval until interrupted (or ``stop`` is set): each job
        looks at once on start (catch-up), then every ``job.every``."""
        scheduler = BlockingScheduler(timezone=UTC)
        for job in self.jobs:
            scheduler.add_job(
                self._look(job),
                IntervalTrigger(seconds=job.every.total_seconds(), timezone=UTC),
                id=job.name,
                name=job.name,
                next_run_time=utc_now(),
                max_instances=1,  # a look still running when the next is due: skip the next
                coalesce=True,  # ticks missed while busy or asleep: one look, which catches up
                misfire_grace_time=None,
            )
        if stop is not None:
            threading.Thread(target=_stop_when, args=(stop, scheduler), daemon=True).start()
        log.info("worker %s: %s", self.worker, ", ".join(job.name for job in self.jobs))
        scheduler.start()

    def _look(self, job: Job) -> Callable[[], None]:
        return lambda: log_outcomes(self.run_job(job))


def _stop_when(stop: threading.Event, scheduler: BlockingScheduler) -> None:
    stop.wait()
    scheduler.shutdown(wait=True)


def log_outcomes(outcomes: Iterable[RunOutcome]) -> None:
    for outcome in outcomes:
        if outcome.result == job_services.SKIPPED:
            log.info("%s %s: skipped (another worker holds or did it)", outcome.job, outcome.key)
