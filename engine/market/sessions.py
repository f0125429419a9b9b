"""Exchange trading sessions from a real calendar (``exchange_calendars``, data shipped in the
package, no network).

A season's market picks its calendar: CN → XSHG (Shanghai; Shenzhen keeps identical sessions
and ``exchange_calendars`` has no separate XSHE), US → XNYS (holidays and half days). A
session is one exchange-local trading day: ``[open, close)`` in UTC, less ``[break_start,
break_end)`` where the exchange breaks (the A-share 11:30–13:00 lunch). The market is open at
an instant when a session contains it: the opening minute counts, the closing one does not.

Beyond the calendar's recorded years (XSHG's holidays are published a year at a time) a day
is a session when it is a weekday, with the calendar's regular hours: holidays not yet
published are then traded, which is what the exchanges' own simulators do until they are.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

from engine.market.model import ONE_DAY, Market

CALENDAR_OF = {Market.CN: "XSHG", Market.US: "XNYS"}
# How far next_open looks ahead: longer than any exchange holiday (Spring Festival: ~9 days).
SEARCH_DAYS = 40


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One exchange-local trading day; instants are timezone-aware UTC."""

    day: date
    open: datetime
    close: datetime
    break_start: datetime | None = None
    break_end: datetime | None = None

    def contains(self, at: datetime) -> bool:
        """Whether the market is open at ``at`` (open minute in, close minute and break out)."""
        if not self.open <= at < self.close:
            return False
        return not self.in_break(at)

    def in_break(self, at: datetime) -> bool:
        return (
            self.break_start is not None
            and self.break_end is not None
            and self.break_start <= at < self.break_end
        )

    def opens(self) -> tuple[datetime, ...]:
        """The instants the market opens in this session: the open and the end of the break."""
        return (self.open,) if self.break_end is None else (self.open, self.break_end)

    def minutes(self) -> list[datetime]:
        """The start of every trading minute of the session, oldest first."""
        minutes = []
        at = self.open
        while at < self.close:
            if not self.in_break(at):
                minutes.append(at)
            at += timedelta(minutes=1)
        return minutes


class NotATradingDay(ValueError):
    """``session_close`` of a day without a session."""


class ExchangeSessions:
    """The sessions of one exchange calendar (``XSHG``, ``XNYS``), read from
    ``exchange_calendars`` and cached per day."""

    def __init__(self, code: str) -> None:
        with warnings.catch_warnings():  # the package's own pandas deprecation notices
            warnings.simplefilter("ignore")
            self._calendar = xcals.get_calendar(code)
        self.code = code
        self.tz: ZoneInfo = ZoneInfo(str(self._calendar.tz))
        self._first = self._calendar.first_session.date()
        self._last = self._calendar.last_session.date()
        cal = self._calendar
        self._regular = (
            cal.open_times[-1][1],
            cal.close_times[-1][1],
            cal.break_start_times[-1][1] if cal.break_start_times else None,
            cal.break_end_times[-1][1] if cal.break_end_times else None,
        )

    def session(self, day: date) -> TradingSession | None:
        """The session of exchange-local ``day``, or ``None`` on weekends and holidays."""
        return _session(self, day)

    def _read(self, day: date) -> TradingSession | None:
        if not self._first <= day <= self._last:
            return self._regular_session(day) if day.weekday() < 5 else None
        cal, label = self._calendar, pd.Timestamp(day)
        if not cal.is_session(label):
            return None
        start, end = cal.session_break_start(label), cal.session_break_end(label)
        return TradingSession(
            day=day,
            open=_utc(cal.session_open(label)),
            close=_utc(cal.session_close(label)),
            break_start=None if pd.isna(start) else _utc(start),
            break_end=None if pd.isna(end) else _utc(end),
        )

    def _regular_session(self, day: date) -> TradingSession:
        opens, closes, pause, resume = self._regular

        def at(t: time | None) -> datetime | None:
            if t is None:
                return None
            return datetime.combine(day, t, tzinfo=self.tz).astimezone(UTC)

        return TradingSession(day, at(opens), at(closes), at(pause), at(resume))  # type: ignore[arg-type]

    def local_day(self, at: datetime) -> date:
        """The exchange-local date of instant ``at``."""
        return at.astimezone(self.tz).date()

    def session_at(self, at: datetime) -> TradingSession | None:
        """The session containing ``at`` (open, not in a break), if any."""
        session = self.session(self.local_day(at))
        return session if session is not None and session.contains(at) else None

    def is_open(self, at: datetime) -> bool:
        return self.session_at(at) is not None

    def next_open(self, at: datetime) -> datetime:
        """The first instant after ``at`` at which the market opens: a session's open, or the
        end of its break (the A-share afternoon)."""
        day = self.local_day(at) - ONE_DAY  # a session's UTC open may fall on the previous date
        for _ in range(SEARCH_DAYS):
            session = self.session(day)
            if session is not None:
                for opening in session.opens():
                    if opening > at:
                        return opening
            day += ONE_DAY
        raise LookupError(f"{self.code}: no open within {SEARCH_DAYS} days after {at}")

    def session_close(self, day: date) -> datetime:
        session = self.session(day)
        if session is None:
            raise NotATradingDay(f"{self.code}: {day.isoformat()} is not a trading day")
        return session.close

    def trading_days(self, start: date, end: date) -> list[date]:
        """The session days in ``[start, end]``, ascending."""
        days = []
        day = start
        while day <= end:
            if self.session(day) is not None:
                days.append(day)
            day += ONE_DAY
        return days

    def last_trading_day(self, on_or_before: date, *, not_before: date) -> date | None:
        """The last session day in ``[not_before, on_or_before]``, or ``None``."""
        day = on_or_before
        while day >= not_before:
            if self.session(day) is not None:
                return day
            day -= ONE_DAY
        return None


@lru_cache(maxsize=1 << 14)
def _session(sessions: ExchangeSessions, day: date) -> TradingSession | None:
    return sessions._read(day)


@lru_cache(maxsize=8)
def calendar(code: str) -> ExchangeSessions:
    """The sessions of calendar ``code``, built once per process."""
    return ExchangeSessions(code)


def sessions_for(market: Market | str) -> ExchangeSessions:
    """The calendar a season's market trades on (CN → XSHG, US → XNYS)."""
    return calendar(CALENDAR_OF[Market(market)])


def _utc(stamp: pd.Timestamp) -> datetime:
    moment: datetime = stamp.tz_convert("UTC").to_pydatetime()
    return moment.replace(tzinfo=UTC)
