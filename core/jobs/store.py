"""``job_runs``: one row per (job, series, bar) that a worker claimed, and its repository.

A claim is an INSERT … ON CONFLICT DO NOTHING; a row that exists is retaken only by a
conditional UPDATE (its lease ended, or it failed and has attempts left). Both are single
statements, so of two workers racing for one window exactly one gets a row back (RETURNING:
the ORM's rowcount is not reliable for an INSERT on psycopg).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import as_utc
from core.db import Base, UtcDateTime
from core.jobs.model import RunStatus, Window

ERROR_LENGTH = 1000


class JobRunRow(Base):
    """A window of a scheduled job, claimed by ``worker`` until ``lease_until``."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "series", "bar", name="uq_job_runs_job_series_bar"),
        CheckConstraint("status IN ('claimed', 'done', 'failed')", name="status"),
        CheckConstraint("attempts >= 1", name="attempts"),
        Index("ix_job_runs_job_status_due_at", "job", "status", "due_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(80))
    series: Mapped[str] = mapped_column(String(120))
    bar: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))


class JobRunsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _where(self, job: str, window: Window) -> Any:
        return and_(
            JobRunRow.job == job,
            JobRunRow.series == window.series,
            JobRunRow.bar == window.bar_key,
        )

    def claim(
        self,
        job: str,
        window: Window,
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        max_attempts: int,
    ) -> bool:
        """Claim the window for ``worker``: a new row, or one whose lease ended while claimed,
        or one that failed with attempts left. False when another worker holds or did it."""
        values = {
            "job": job,
            "series": window.series,
            "bar": window.bar_key,
            "due_at": window.due_at,
            "status": RunStatus.CLAIMED.value,
            "worker": worker,
            "attempts": 1,
            "claimed_at": now,
            "lease_until": now + lease,
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(JobRunRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["job", "series", "bar"])
            .returning(JobRunRow.id)
        )
        if self.session.execute(stmt).first() is not None:
            return True
        retake = (
            update(JobRunRow)
            .where(
                self._where(job, window),
                or_(
                    and_(JobRunRow.status == RunStatus.CLAIMED.value, JobRunRow.lease_until < now),
                    and_(
                        JobRunRow.status == RunStatus.FAILED.value,
                        JobRunRow.attempts < max_attempts,
                    ),
                ),
            )
            .values(
                status=RunStatus.CLAIMED.value,
                worker=worker,
                attempts=JobRunRow.attempts + 1,
                claimed_at=now,
                lease_until=now + lease,
                finished_at=None,
            )
            .returning(JobRunRow.id)
            .execution_options(synchronize_session=False)
        )
        return self.session.execute(retake).first() is not None

    def finish(
        self, job: str, window: Window, *, worker: str, now: datetime, error: str | None = None
    ) -> bool:
        """Mark the worker's claim done (or failed with ``error``); False when the claim is no
        longer the worker's (its lease ended and another worker retook it)."""
        status = RunStatus.DONE if error is None else RunStatus.FAILED
        stmt = (
            update(JobRunRow)
            .where(
                self._where(job, window),
                JobRunRow.worker == worker,
                JobRunRow.status == RunStatus.CLAIMED.value,
            )
            .values(
                status=status.value,
                finished_at=now,
                error=None if error is None else error[:ERROR_LENGTH],
            )
            .returning(JobRunRow.id)
            .execution_options(synchronize_session=False)
        )
        return self.session.execute(stmt).first() is not None

    def renew(self, job: str, window: Window, *, worker: str, until: datetime) -> bool:
        """Extend the worker's lease on its running window to ``until`` (a heartbeat)."""
        stmt = (
            update(JobRunRow)
            .where(
                self._where(job, window),
                JobRunRow.worker == worker,
                JobRunRow.status == RunStatus.CLAIMED.value,
            )
            .values(lease_until=until)
            .returning(JobRunRow.id)
            .execution_options(synchronize_session=False)
        )
        return self.session.execute(stmt).first() is not None

    def last_done(self, job: str) -> datetime | None:
        """The greatest due time of the job's done windows (where catch-up starts)."""
        stmt = select(func.max(JobRunRow.due_at)).where(
            JobRunRow.job == job, JobRunRow.status == RunStatus.DONE.value
        )
        found = self.session.scalar(stmt)
        return None if found is None else as_utc(found)

    def last_finished(self, job: str, series: str) -> datetime | None:
        """When the series' latest done window of the job finished (for pacing a series)."""
        stmt = select(func.max(JobRunRow.finished_at)).where(
            JobRunRow.job == job,
            JobRunRow.series == series,
            JobRunRow.status == RunStatus.DONE.value,
        )
        found = self.session.scalar(stmt)
        return None if found is None else as_utc(found)

    def holder(self, job: str, window: Window, *, now: datetime) -> str | None:
        """The worker whose lease on the window is still running at ``now``, if any."""
        stmt = select(JobRunRow.worker).where(
            self._where(job, window),
            JobRunRow.status == RunStatus.CLAIMED.value,
            JobRunRow.lease_until >= now,
        )
        return self.session.scalar(stmt)

    def run_of(self, job: str, window: Window) -> JobRunRow | None:
        return self.session.scalar(select(JobRunRow).where(self._where(job, window)))
