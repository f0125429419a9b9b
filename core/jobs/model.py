"""Scheduled jobs as values: a job names its due windows, a window is run at most once.

A *window* is one unit of scheduled work, keyed by its ``series`` (what it is about: a contest,
the ledger, the chain) and its ``bar`` (the bar time or day it stands for). ``(job, series,
bar)`` is unique in ``job_runs``, so two workers, or a worker restarted after a crash, never
run one window twice. A job's ``due`` function lists every window due at ``now`` that may not
have run yet, missed ones included (catch-up); the runner claims and runs them in order.

Registering a job is a few lines::

    Job(
        name="contest.intraday",
        due=lambda now, last_done: [
            Window(f"contest:{c}", bar, bar) for c in live_contests() for bar in minute_bars(c, now)
        ],
        run=lambda window, now: tick_contest(window.series, window.bar),
    )

``periodic_windows`` and ``daily_windows`` enumerate the windows of clock-driven jobs from the
last one done (``last_done``, the greatest ``due_at`` of the job's done runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MAX_CATCH_UP = 1000  # windows one enumeration returns at most (the earliest first)


class RunStatus(StrEnum):
    CLAIMED = "claimed"  # a worker holds it until its lease ends
    DONE = "done"  # ran to the end: never run again
    FAILED = "failed"  # raised: retaken at a later tick until the attempts run out


@dataclass(frozen=True, slots=True)
class Window:
    """One run of a job: ``series`` (e.g. ``contest:7``) at ``bar`` (a day or a bar time),
    due from ``due_at`` (UTC). Windows of one series run in ``due_at`` order."""

    series: str
    bar: date | datetime
    due_at: datetime

    @property
    def bar_key(self) -> str:
        """``bar`` as stored: ISO 8601 (a datetime in UTC)."""
        if isinstance(self.bar, datetime):
            return self.bar.astimezone(UTC).isoformat()
        return self.bar.isoformat()

    @property
    def key(self) -> str:
        return f"{self.series}@{self.bar_key}"


# (now, greatest due_at of the job's done runs or None) -> the windows due by now
DueWindows = Callable[[datetime, datetime | None], Iterable[Window]]
# (the window, the worker's now) -> a one-line summary for the log
RunWindow = Callable[[Window, datetime], str]


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled job: its ``name`` (the key's first part), its ``due`` windows and how to
    ``run`` one. ``every`` is how often the worker looks for due windows."""

    name: str
    due: DueWindows
    run: RunWindow
    every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one worker did with one window: ``ran`` (and succeeded), ``failed`` or ``skipped``
    (another worker holds or did it)."""

    job: str
    key: str
    result: str
    detail: str = ""


def in_order(windows: Iterable[Window]) -> list[Window]:
    """The windows without duplicates (same series and bar), by due time, then series, then bar."""
    unique = {(w.series, w.bar_key): w for w in windows}
    return sorted(unique.values(), key=lambda w: (w.due_at, w.series, w.bar_key))


def periodic_windows(
    after: datetime | None,
    now: datetime,
    *,
    every: timedelta,
    series: str,
    limit: int = MAX_CATCH_UP,
    catch_up: bool = True,
) -> list[Window]:
    """The bar times ``k * every`` (from the Unix epoch, UTC) in ``(after, now]``, earliest
    first and at most ``limit``; with no ``after`` (the job never ran), or without
    ``catch_up`` (one run does all that was missed, e.g. anchoring what is pending), only the
    latest one, so a start does not replay history. Each window's bar is its due time."""
    if every <= timedelta(0):
        raise ValueError("every must be positive")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    last = epoch + ((now - epoch) // every) * every
    if after is None or after < epoch:
        first = last
    else:
        first = epoch + ((after - epoch) // every + 1) * every
        if not catch_up:
            first = max(first, last)
    count = max(0, min(limit, (last - first) // every + 1))
    bars = [first + i * every for i in range(count)]
    return [Window(series, bar, bar) for bar in bars]


def daily_windows(
    after: datetime | None,
    now: datetime,
    *,
    at: time,
    tz: ZoneInfo,
    series: str,
    limit: int = MAX_CATCH_UP,
) -> list[Window]:
    """The local days whose run time (``at`` in ``tz``) falls in ``(after, now]``, earliest
    first and at most ``limit``; with no ``after``, only the latest such day. A window's bar is
    the local day and its due time the run time in UTC."""

    def run_time(day: date) -> datetime:
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)

    latest = now.astimezone(tz).date()
    if run_time(latest) > now:
        latest -= timedelta(days=1)
    if after is None:
        first = latest
    else:
        first = after.astimezone(tz).date()
        while run_time(first) <= after:
            first += timedelta(days=1)
    days: list[date] = []
    day = first
    while day <= latest and len(days) < limit:
        days.append(day)
        day += timedelta(days=1)
    return [Window(series, d, run_time(d)) for d in days]


def by_series(windows: Sequence[Window]) -> dict[str, list[Window]]:
    """The windows of each series, keeping their order."""
    grouped: dict[str, list[Window]] = {}
    for window in windows:
        grouped.setdefault(window.series, []).append(window)
    return grouped
