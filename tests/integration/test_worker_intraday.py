"""The worker's intraday jobs on SQLite and PostgreSQL (``Worker.run_once(now=...)``): the
feed's minutes are stored before the minute contest ticks them, each (contest, bar) once and
in order, a missed stretch is caught up, a stale feed fails its window (retried, nothing
filled), and the contest is finished once its last session has closed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.worker import (
    Worker,
    contest_day_job,
    contest_intraday_job,
    market_intraday_job,
    standard_jobs,
)
from core.clock import utc_now
from core.config import Settings
from core.db import Database
from core.jobs import services as job_services
from core.jobs.store import JobRunRow
from core.users.model import Role, User
from engine.contests import seasons
from engine.contests import services as contests
from engine.contests.model import ContestState, DataSource
from engine.contests.seasons import SeasonDraft
from engine.contests.services import ContestDraft
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.market.synthetic import synthetic_universe
from engine.trading import order_desk, services, store_orders
from engine.trading.orders import OrderStatus
from engine.uow import EngineUnitOfWork
from tests.conftest import make_settings
from tests.contest_builders import DISCLOSURES
from tests.engine_builders import request
from tests.integration.test_cli_tick_intraday import replay_minute_contest

DAY = date(2026, 3, 3)  # a Shanghai session (Tuesday)
SESSION = sessions_for(Market.CN).session(DAY)
assert SESSION is not None
MINUTE = timedelta(minutes=1)


def _live_minute_contest(database: Database, operator: User) -> tuple[int, list[str]]:
    uow = EngineUnitOfWork(database.sessions)
    instruments = synthetic_universe(Market.CN, 2, seed=11)
    with uow:
        uow.market.add_instruments(instruments)
        uow.commit()
    symbols = [i.symbol for i in instruments]
    now = SESSION.open - timedelta(days=2)
    season = seasons.create_season(
        uow,
        SeasonDraft(
            name="Live minutes",
            timezone="Asia/Shanghai",
            starts_on=DAY - timedelta(days=20),
            ends_on=DAY + timedelta(days=30),
            market=Market.CN,
            universe=symbols,
            data_source=DataSource.LIVE,
            replay_start=None,
            replay_end=None,
        ),
        operator_id=operator.id,
        now=now,
    )
    contest = contests.create_contest(
        uow,
        ContestDraft(
            season_id=season.id,
            title="Minute cup",
            trading_start=DAY,
            trading_end=DAY,
            starting_cash=Decimal(1_000_000),
            disclosures=DISCLOSURES,
            bar_interval="minute",
        ),
        now=now,
    )
    return contest.id, symbols


def _worker(database: Database, found: Settings, name: str) -> Worker:
    jobs = [market_intraday_job(database, found), contest_intraday_job(database, found)]
    return Worker(database, jobs, name)


def _counts(outcomes: list[job_services.RunOutcome]) -> Counter[tuple[str, str]]:
    return Counter((o.job, o.result) for o in outcomes)


def test_the_worker_feeds_and_ticks_a_live_minute_contest_once_per_bar(
    database: Database,
    db_url: str,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contest, symbols = _live_minute_contest(database, make_user(Role.OPERATOR))
    member = make_user()
    uow = EngineUnitOfWork(database.sessions)
    services.open_account(uow, contest, member.id)
    found = make_settings(db_url)
    assert found.intraday_feed == "synthetic"
    # The --once order: the feed's bars are stored before the minute contests tick.
    names = [job.name for job in standard_jobs(database, found)]
    assert names.index("market.intraday") < names.index("contest.intraday")

    # 10:00:10 Shanghai: the first 30 minutes have ended; the worker was away for all of them.
    first_look = SESSION.open + 30 * MINUTE + timedelta(seconds=10)
    outcomes = _worker(database, found, "w1").run_once(now=first_look)
    assert _counts(outcomes) == {("market.intraday", "ran"): 1, ("contest.intraday", "ran"): 30}
    ticked = [o.key for o in outcomes if o.job == "contest.intraday"]
    assert ticked == sorted(ticked)  # in bar order
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and row.intraday_bar == SESSION.open + 29 * MINUTE
        # the feed also filled in the previous sessions, and derived their daily bars
        assert uow.market.previous_closes(symbols, DAY).keys() == set(symbols)
    assert contests.get_contest(uow, contest, now=first_look).state is ContestState.RUNNING

    # A member buys at the market now: the next bar fills it, never the current one.
    for module in (order_desk, store_orders):
        monkeypatch.setattr(module, "utc_now", lambda: first_look)
    order = order_desk.place_order(uow, contest, member.id, request(symbol=symbols[0]))
    # A second worker, and a restart, at the same instant: nothing is ticked twice.
    again = _worker(database, found, "w2").run_once(now=first_look)
    assert _counts(again).get(("contest.intraday", "ran"), 0) == 0
    later = first_look + 5 * MINUTE
    outcomes = _worker(database, found, "w2").run_once(now=later)
    assert _counts(outcomes)[("contest.intraday", "ran")] == 5
    with uow.reading():
        filled = uow.trading.order(order.account_id, order.id)
        assert filled is not None and filled.status is OrderStatus.FILLED

    # The feed goes away (intraday_feed none): the held symbol's quotes go stale; the window
    # fails, nothing is ticked, and the same window is retaken once the bars are back.
    outage = later + 5 * MINUTE
    off = make_settings(db_url, intraday_feed="none")
    stale = _worker(database, off, "w3").run_once(now=outage)
    failed = [o for o in stale if o.result == job_services.FAILED]
    assert [o.job for o in failed] == ["contest.intraday"] and "feed stale" in failed[0].detail
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and row.intraday_bar == SESSION.open + 34 * MINUTE
        assert row.feed_stale_since is not None
    # The next minute's look polls the feed from the last stored minute and ticks them all.
    back = _worker(database, found, "w3").run_once(now=outage + MINUTE)
    assert _counts(back)[("contest.intraday", "ran")] == 6
    with database.sessions() as session:
        retaken = session.scalars(
            select(JobRunRow).where(JobRunRow.job == "contest.intraday", JobRunRow.attempts > 1)
        ).all()
    assert [r.status for r in retaken] == ["done"]

    # After the close: the rest of the session (lunch break excluded), then it is finished.
    after_close = SESSION.close + 10 * MINUTE
    outcomes = _worker(database, found, "w4").run_once(now=after_close)
    assert _counts(outcomes)[("contest.intraday", "ran")] == 240 - 41
    assert contests.get_contest(uow, contest, now=after_close).state is ContestState.FINISHED
    with database.sessions() as session:
        bars = session.scalars(
            select(JobRunRow.bar).where(JobRunRow.job == "contest.intraday")
        ).all()
    assert len(bars) == len(set(bars)) == 240
    assert services.check_books(uow, contest) == []
    # A finished contest is not ticked again.
    done = _worker(database, found, "w5").run_once(now=after_close + MINUTE)
    assert _counts(done).get(("contest.intraday", "ran"), 0) == 0


def test_a_replay_minute_contest_walks_its_stored_minutes_at_the_intraday_pace(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    contest, days = replay_minute_contest(database, make_user(Role.OPERATOR), sessions=2)
    found = make_settings(db_url, intraday_feed="none")
    worker = Worker(database, [contest_intraday_job(database, found)], "pacer")
    # The pace counts from when the last tick finished (the wall clock), so the looks do too.
    start = utc_now()
    assert _counts(worker.run_once(now=start)) == {("contest.intraday", "ran"): 1}
    assert _counts(worker.run_once(now=start + timedelta(seconds=10))) == {}
    # Running now, the daily clock's job still leaves it to contest.intraday.
    assert contests.get_contest(EngineUnitOfWork(database.sessions), contest).state.value == (
        "running"
    )
    day_job = contest_day_job(database, replay_pace=timedelta(0))
    assert Worker(database, [day_job], "daily").run_once(now=start) == []
    later = worker.run_once(now=start + timedelta(minutes=3, seconds=30))
    assert _counts(later) == {("contest.intraday", "ran"): 3}
    session = sessions_for(Market.CN).session(days[0])
    assert session is not None
    uow = EngineUnitOfWork(database.sessions)
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and row.intraday_bar == session.open + 3 * MINUTE
    fast = Worker(database, [contest_intraday_job(database, found, pace=timedelta(0))], "fast")
    # a zero pace walks every stored minute, at most a look's cap at a time
    assert _counts(fast.run_once(now=start + timedelta(minutes=4))) == {
        ("contest.intraday", "ran"): 240
    }
    assert contests.get_contest(uow, contest).state is ContestState.RUNNING
    assert _counts(fast.run_once(now=start + timedelta(minutes=5))) == {
        ("contest.intraday", "ran"): 480 - 244
    }
    assert contests.get_contest(uow, contest).state is ContestState.FINISHED
