"""Claims of scheduled jobs' windows on SQLite and PostgreSQL: a window runs once; a worker that
crashed mid-window leaves a claim that a restarted worker retakes once its lease has ended; a
failure is recorded, holds back the rest of its series, and is retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import Database
from core.jobs import services as jobs
from core.jobs.model import Job, RunStatus, Window
from core.jobs.store import JobRunRow

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class Crash(BaseException):
    """The process dies mid-run: nothing after it runs (not an Exception the runner records)."""


def _windows(series: Iterable[str], bars: int) -> list[Window]:
    return [
        Window(s, NOW - timedelta(minutes=bars - i), NOW - timedelta(minutes=bars - i))
        for s in series
        for i in range(bars)
    ]


def _job(windows: list[Window], run: Callable[[Window, datetime], str]) -> Job:
    return Job("test.job", lambda now, last_done: [w for w in windows if w.due_at <= now], run)


def _rows(database: Database) -> dict[str, JobRunRow]:
    with database.sessions() as session:
        rows = session.scalars(select(JobRunRow)).all()
        return {f"{row.series}@{row.bar}": row for row in rows}


def test_a_restart_after_a_crash_mid_window_retakes_the_stale_claim(database: Database) -> None:
    uow = jobs.JobsUnitOfWork(database.sessions)
    windows = _windows(["contest:1"], 3)
    ran: list[tuple[str, str]] = []

    def crashing(window: Window, now: datetime) -> str:
        if window == windows[1]:
            raise Crash
        ran.append(("a", window.key))
        return "ok"

    with pytest.raises(Crash):
        jobs.run_due(uow, _job(windows, crashing), worker="a", now=NOW, lease=LEASE)
    assert _rows(database)[windows[1].key].status == RunStatus.CLAIMED

    def healthy(window: Window, now: datetime) -> str:
        ran.append(("b", window.key))
        return "ok"

    # restarted within the lease: the crashed claim still holds its window, the rest wait
    early = jobs.run_due(
        uow, _job(windows, healthy), worker="b", now=NOW + timedelta(minutes=1), lease=LEASE
    )
    assert [(o.result, o.detail) for o in early] == [
        (jobs.SKIPPED, ""),
        (jobs.SKIPPED, "held by a"),
    ]
    # once the lease has ended, the stale claim is retaken, and done windows are not rerun
    late = NOW + LEASE + timedelta(seconds=1)
    outcomes = jobs.run_due(uow, _job(windows, healthy), worker="b", now=late, lease=LEASE)
    assert [o.result for o in outcomes] == [jobs.SKIPPED, jobs.RAN, jobs.RAN]
    assert ran == [("a", windows[0].key), ("b", windows[1].key), ("b", windows[2].key)]
    rows = _rows(database)
    assert {row.status for row in rows.values()} == {RunStatus.DONE}
    assert rows[windows[1].key].worker == "b" and rows[windows[1].key].attempts == 2
    # the crashed worker, were it only slow, cannot mark the window it lost
    assert not jobs.finish(uow, "test.job", windows[1], worker="a", now=late)


def test_a_failure_is_recorded_holds_back_its_series_and_is_retried(database: Database) -> None:
    uow = jobs.JobsUnitOfWork(database.sessions)
    windows = _windows(["contest:1", "contest:2"], 2)
    broken = {windows[0].key}
    ran: list[str] = []

    def run(window: Window, now: datetime) -> str:
        if window.key in broken:
            raise ValueError("no bars yet")
        ran.append(window.key)
        return "ok"

    job = _job(windows, run)
    first = jobs.run_due(uow, job, worker="w", now=NOW, max_attempts=2)
    assert [(o.key, o.result) for o in first] == [
        (windows[0].key, jobs.FAILED),
        (windows[2].key, jobs.RAN),
        (windows[3].key, jobs.RAN),
    ]
    row = _rows(database)[windows[0].key]
    assert row.status == RunStatus.FAILED and row.error == "ValueError: no bars yet"
    assert windows[1].key not in _rows(database)  # contest 1's next day waited
    broken.clear()
    second = jobs.run_due(uow, job, worker="w", now=NOW, max_attempts=2)
    assert [o.result for o in second] == [jobs.RAN, jobs.RAN, jobs.SKIPPED, jobs.SKIPPED]
    assert ran == [windows[2].key, windows[3].key, windows[0].key, windows[1].key]
    assert _rows(database)[windows[0].key].attempts == 2


def test_a_window_that_keeps_failing_stops_after_its_attempts(database: Database) -> None:
    uow = jobs.JobsUnitOfWork(database.sessions)
    (window,) = _windows(["ledger"], 1)

    def run(window: Window, now: datetime) -> str:
        raise RuntimeError("chain away")

    job = _job([window], run)
    results = [
        jobs.run_due(uow, job, worker="w", now=NOW, max_attempts=2)[0].result for _ in range(3)
    ]
    assert results == [jobs.FAILED, jobs.FAILED, jobs.SKIPPED]
    assert _rows(database)[window.key].attempts == 2


def test_last_done_is_where_periodic_catch_up_starts(database: Database) -> None:
    from core.jobs.model import periodic_windows

    uow = jobs.JobsUnitOfWork(database.sessions)
    every = timedelta(minutes=10)
    job = Job(
        "test.periodic",
        lambda now, last: periodic_windows(last, now, every=every, series="chain"),
        lambda window, now: "ok",
        every=every,
    )
    first = jobs.run_due(uow, job, worker="w", now=NOW + timedelta(minutes=3))
    assert [o.key for o in first] == ["chain@2026-12-03T08:00:00+00:00"]
    # the worker was away for 35 minutes: the three missed windows run, in order
    later = jobs.run_due(uow, job, worker="w", now=NOW + timedelta(minutes=38))
    assert [o.key[-14:-6] for o in later] == ["08:10:00", "08:20:00", "08:30:00"]
    assert all(o.result == jobs.RAN for o in later)
    assert jobs.run_due(uow, job, worker="w", now=NOW + timedelta(minutes=39)) == []


def test_the_scheduled_worker_looks_at_once_on_start_and_stops(database: Database) -> None:
    from api.worker import Worker

    windows = _windows(["contest:1"], 2)
    looked = threading.Event()

    def run(window: Window, now: datetime) -> str:
        if window == windows[-1]:
            looked.set()
        return "ok"

    job = Job("test.scheduled", lambda now, last: windows, run, every=timedelta(hours=1))
    stop = threading.Event()
    serving = threading.Thread(target=Worker(database, [job], "w").serve, args=(stop,))
    serving.start()
    try:
        assert looked.wait(timeout=20)
    finally:
        stop.set()
        serving.join(timeout=20)
    assert not serving.is_alive()
    rows = _rows(database)
    assert [rows[w.key].status for w in windows] == [RunStatus.DONE, RunStatus.DONE]


def test_a_long_run_renews_its_lease_so_no_other_worker_takes_it(database: Database) -> None:
    uow = jobs.JobsUnitOfWork(database.sessions)
    (window,) = _windows(["contest:1"], 1)
    lease = timedelta(seconds=0.6)
    started, release = threading.Event(), threading.Event()
    others: list[str] = []

    def slow(window: Window, now: datetime) -> str:
        started.set()
        release.wait(timeout=20)
        return "ok"

    def other(window: Window, now: datetime) -> str:
        others.append(window.key)
        return "ok"

    first = threading.Thread(
        target=jobs.run_due,
        args=(uow, _job([window], slow)),
        kwargs={"worker": "a", "lease": lease},
    )
    first.start()
    try:
        assert started.wait(timeout=20)
        time.sleep(1.5)  # well past the first lease: only the heartbeat keeps it
        second = jobs.run_due(
            jobs.JobsUnitOfWork(database.sessions), _job([window], other), worker="b", lease=lease
        )
    finally:
        release.set()
        first.join(timeout=20)
    assert others == [] and second[0].detail == "held by a"
    assert _rows(database)[window.key].status == RunStatus.DONE
