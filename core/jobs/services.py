"""Running due windows: claim each in its own transaction, run it, record how it ended.

``run_due`` is what one worker tick does for one job: enumerate the due windows (catch-up
included), and for each, in order, claim it (``job_runs``; a window done, or out of attempts,
is skipped), run it through the job's service call, and mark it done or failed. A failure, or a
window another worker holds, stops the rest of its series for this tick (a later bar never runs
before an earlier one of the same contest succeeded); other series go on. A worker that dies
mid-window leaves a claim whose lease ends (a live worker renews its lease while it runs); the
next worker to see the window retakes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.clock import utc_now
from core.jobs.model import Job, RunOutcome, Window, by_series, in_order
from core.jobs.store import JobRunsRepository
from core.uow import UnitOfWork

log = logging.getLogger("paperleague.worker")

DEFAULT_LEASE = timedelta(minutes=15)
DEFAULT_MAX_ATTEMPTS = 3

RAN, FAILED, SKIPPED = "ran", "failed", "skipped"


class JobsUnitOfWork(UnitOfWork):
    runs: JobRunsRepository

    def _bind(self, session: Session) -> None:
        self.runs = JobRunsRepository(session)


def claim(
    uow: JobsUnitOfWork,
    job: str,
    window: Window,
    *,
    worker: str,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> bool:
    """Claim ``window`` of ``job`` for ``worker`` in its own transaction (see the store)."""
    with uow:
        claimed = uow.runs.claim(
            job, window, worker=worker, now=now, lease=lease, max_attempts=max_attempts
        )
        uow.commit()
        return claimed


def finish(
    uow: JobsUnitOfWork,
    job: str,
    window: Window,
    *,
    worker: str,
    now: datetime,
    error: str | None = None,
) -> bool:
    """Record the end of the worker's run: done, or failed with ``error``."""
    with uow:
        finished = uow.runs.finish(job, window, worker=worker, now=now, error=error)
        uow.commit()
        return finished


class Heartbeat:
    """While a window runs, renew the worker's lease every third of it, so that a long run
    is not taken for a dead worker's; a failed renewal is logged and retried."""

    def __init__(
        self, uow: JobsUnitOfWork, job: str, window: Window, *, worker: str, lease: timedelta
    ) -> None:
        self._args = (uow, job, window, worker, lease)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        uow, job, window, worker, lease = self._args
        mine = JobsUnitOfWork(uow.sessions)  # its own sessions: the run holds the caller's
        while not self._stop.wait(lease.total_seconds() / 3):
            try:
                with mine:
                    mine.runs.renew(job, window, worker=worker, until=utc_now() + lease)
                    mine.commit()
            except Exception:  # e.g. SQLite busy under the run's own write: next beat
                log.warning("%s %s: could not renew the lease", job, window.key, exc_info=True)


def due_windows(uow: JobsUnitOfWork, job: Job, now: datetime) -> list[Window]:
    """The job's windows due at ``now``, from its last done run, without duplicates, in order."""
    with uow.reading():
        last_done = uow.runs.last_done(job.name)
    return in_order(job.due(now, last_done))


def run_due(
    uow: JobsUnitOfWork,
    job: Job,
    *,
    worker: str,
    now: datetime | None = None,
    lease: timedelta = DEFAULT_LEASE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[RunOutcome]:
    """Run every due window of ``job`` that no worker holds or did, in order (see the module);
    ``now`` (default: the wall clock) decides what is due and is passed to the job."""
    moment = now or utc_now()
    outcomes: list[RunOutcome] = []
    for windows in by_series(due_windows(uow, job, moment)).values():
        outcomes += _run_series(
            uow, job, windows, worker=worker, now=moment, lease=lease, max_attempts=max_attempts
        )
    return outcomes


def _run_series(
    uow: JobsUnitOfWork,
    job: Job,
    windows: Sequence[Window],
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
) -> list[RunOutcome]:
    outcomes: list[RunOutcome] = []
    for window in windows:
        if not claim(
            uow, job.name, window, worker=worker, now=now, lease=lease, max_attempts=max_attempts
        ):
            with uow.reading():
                holder = uow.runs.holder(job.name, window, now=now)
            if holder is not None:  # the series goes on after the holder's run, in order
                outcomes.append(RunOutcome(job.name, window.key, SKIPPED, f"held by {holder}"))
                break
            outcomes.append(RunOutcome(job.name, window.key, SKIPPED))  # done, or out of attempts
            continue
        try:
            with Heartbeat(uow, job.name, window, worker=worker, lease=lease):
                summary = job.run(window, now)
        except Exception as exc:  # a job's failure is recorded, and the worker goes on
            error = f"{type(exc).__name__}: {exc}"
            finish(uow, job.name, window, worker=worker, now=utc_now(), error=error)
            log.exception("%s %s failed", job.name, window.key)
            outcomes.append(RunOutcome(job.name, window.key, FAILED, error))
            break  # the rest of this series waits for this window
        if not finish(uow, job.name, window, worker=worker, now=utc_now()):
            log.warning("%s %s: the lease ended before the run did", job.name, window.key)
        log.info("%s %s: %s", job.name, window.key, summary)
        outcomes.append(RunOutcome(job.name, window.key, RAN, summary))
    return outcomes
