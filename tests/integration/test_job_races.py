"""Two workers (real threads, each with its own sessions) over the same due windows on
PostgreSQL: every (job, series, bar) runs exactly once, and a retaken stale claim too."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api.worker import Worker, contest_intraday_job, market_intraday_job
from core.db import Database
from core.jobs import services as jobs
from core.jobs.model import Job, RunStatus, Window
from core.jobs.store import JobRunRow
from core.users.model import Role, User
from engine.uow import EngineUnitOfWork
from tests.concurrency import race
from tests.conftest import make_settings
from tests.integration.test_worker_intraday import SESSION, _live_minute_contest

pytestmark = pytest.mark.postgres_only

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
WORKERS = 3


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _windows() -> list[Window]:
    return [
        Window(f"contest:{c}", NOW - timedelta(minutes=m), NOW - timedelta(minutes=m))
        for c in range(4)
        for m in range(6)
    ]


@pytest.mark.parametrize("round_", range(2))
def test_workers_over_the_same_windows_run_each_exactly_once(
    database: Database, round_: int
) -> None:
    windows = _windows()
    ran: list[tuple[int, str]] = []
    lock = threading.Lock()

    def worker(i: int) -> list[str]:
        def run(window: Window, now: datetime) -> str:
            time.sleep(0.002)  # long enough for the others to reach the same window
            with lock:
                ran.append((i, window.key))
            return "ok"

        job = Job("race.job", lambda now, last: windows, run)
        uow = jobs.JobsUnitOfWork(database.sessions)  # each worker its own sessions
        return [o.result for o in jobs.run_due(uow, job, worker=f"w{i}", now=NOW)]

    results = race(WORKERS, worker)
    assert not [r for r in results if isinstance(r, Exception)], results
    counts = Counter(key for _, key in ran)
    assert sorted(counts) == sorted(w.key for w in windows)
    assert set(counts.values()) == {1}
    assert sum(r.count(jobs.RAN) for r in results) == len(windows)
    with database.sessions() as session:
        rows = session.scalars(select(JobRunRow)).all()
    assert len(rows) == len(windows) and {row.status for row in rows} == {RunStatus.DONE}


def test_workers_retaking_one_stale_claim_run_it_once(database: Database) -> None:
    (window,) = _windows()[:1]
    uow = jobs.JobsUnitOfWork(database.sessions)
    assert jobs.claim(uow, "race.job", window, worker="dead", now=NOW, lease=timedelta(minutes=1))
    later = NOW + timedelta(minutes=2)
    ran: list[int] = []

    def worker(i: int) -> list[str]:
        def run(window: Window, now: datetime) -> str:
            ran.append(i)
            return "ok"

        job = Job("race.job", lambda now, last: [window], run)
        mine = jobs.JobsUnitOfWork(database.sessions)
        return [o.result for o in jobs.run_due(mine, job, worker=f"w{i}", now=later)]

    results = race(WORKERS, worker)
    assert len(ran) == 1
    assert sorted(r[0] for r in results) == [jobs.RAN] + [jobs.SKIPPED] * (WORKERS - 1)


def test_workers_racing_on_a_minute_contest_tick_each_bar_once(
    database: Database, pg_url: str, make_user: Callable[..., User]
) -> None:
    """The real ``contest.intraday`` job: each worker its own database connection pool and
    job, released together at the same instant; every bar is ticked by exactly one."""
    contest, _ = _live_minute_contest(database, make_user(Role.OPERATOR))
    found = make_settings(pg_url)
    look = SESSION.open + 20 * timedelta(minutes=1)
    feed = Worker(database, [market_intraday_job(database, found)], "feeder")
    assert [o.result for o in feed.run_once(now=look)] == [jobs.RAN]
    pools = [Database.connect(pg_url) for _ in range(WORKERS)]
    try:

        def worker(i: int) -> list[jobs.RunOutcome]:
            own = pools[i]
            return Worker(own, [contest_intraday_job(own, found)], f"w{i}").run_once(now=look)

        results = race(WORKERS, worker)
    finally:
        for pool in pools:
            pool.dispose()
    assert not [r for r in results if isinstance(r, Exception)], results
    ran = Counter(o.key for r in results for o in r if o.result == jobs.RAN)
    assert len(ran) == 20 and set(ran.values()) == {1}
    assert not [o for r in results for o in r if o.result == jobs.FAILED]
    uow = EngineUnitOfWork(database.sessions)
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and row.intraday_bar == SESSION.open + 19 * timedelta(minutes=1)
    with database.sessions() as session:
        rows = session.scalars(select(JobRunRow).where(JobRunRow.job == "contest.intraday")).all()
    assert len(rows) == 20 and {row.status for row in rows} == {RunStatus.DONE}
