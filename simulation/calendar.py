"""The season's simulated calendar: trading days (weekdays, as the synthetic market trades) and
the calendar days engagement runs on (weekends too, so check-in streaks can pass a weekend).

Every timestamp the simulation hands a service comes from here, never from the wall clock, so
the same seed writes the same ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.market.synthetic import weekdays


@dataclass(frozen=True, slots=True)
class SeasonDay:
    """Trading day ``index`` (0-based) and the calendar days it closes: those after the previous
    trading day up to and including ``trading_date`` (a Monday closes Saturday and Sunday)."""

    index: int
    trading_date: date
    calendar_dates: tuple[date, ...]
    pk_round: int | None  # the PK round that ends today, if one does
    last: bool


class SeasonCalendar:
    """Trading days from ``start``; PK rounds end every ``pk_every`` trading days."""

    def __init__(self, start: date, days: int, *, pk_every: int, timezone: str) -> None:
        self.trading_dates = tuple(weekdays(start, days))
        self.zone = ZoneInfo(timezone)
        self.pk_every = pk_every
        first, last = self.trading_dates[0], self.trading_dates[-1]
        self.calendar_dates = tuple(
            first + timedelta(days=n) for n in range((last - first).days + 1)
        )
        self._calendar_index = {day: n for n, day in enumerate(self.calendar_dates)}

    @property
    def pre_season(self) -> date:
        """The day before the first trading day: the operator sets the season up."""
        return self.trading_dates[0] - timedelta(days=1)

    @property
    def rounds(self) -> int:
        return len(self.trading_dates) // self.pk_every

    def days(self) -> list[SeasonDay]:
        result = []
        previous = self.trading_dates[0] - timedelta(days=1)
        for index, trading_date in enumerate(self.trading_dates):
            closes = tuple(
                previous + timedelta(days=n) for n in range(1, (trading_date - previous).days + 1)
            )
            ends_round = (index + 1) % self.pk_every == 0
            result.append(
                SeasonDay(
                    index=index,
                    trading_date=trading_date,
                    calendar_dates=closes,
                    pk_round=(index + 1) // self.pk_every if ends_round else None,
                    last=index == len(self.trading_dates) - 1,
                )
            )
            previous = trading_date
        return result

    def calendar_index(self, day: date) -> int:
        """Position of ``day`` among the season's calendar days."""
        return self._calendar_index[day]

    def round_of(self, day: date) -> int:
        """The PK round (1-based) a calendar day falls in (the last round takes the tail)."""
        trading = sum(1 for d in self.trading_dates if d <= day)
        return min(max(trading - 1, 0) // self.pk_every + 1, max(self.rounds, 1))

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """``day`` at local ``hour:minute`` in the programme's time zone, as UTC (the ledger
        hashes timestamps as stored, and stores UTC)."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)
