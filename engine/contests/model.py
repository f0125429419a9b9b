"""Seasons and contests as members and operators see them; states and time-zone windows.

A season lives on a local calendar (its IANA time zone): it runs from the start of ``starts_on``
to the end of ``ends_on`` there, and after that it is read-only. A contest's registration window
is a pair of instants (stored in UTC); a time without an offset is read in the season's zone, so
"registration closes 2026-03-01 23:59" means Beijing time in a Shanghai season, whatever the
server's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import RuleViolation
from core.rule_codes import Rule
from engine.contests.prize_rules import Disclosures, DrawPrize, offers_prizes
from engine.contests.spec import (
    BASE_METRICS,
    MetricSpec,
    PkSettings,
    PrizeLine,
    Qualification,
    TeamSettings,
)


class DataSource(StrEnum):
    REPLAY = "replay"  # stored or synthetic bars; the clock walks as fast as the operator calls
    LIVE = "live"  # bars as they arrive; the clock never reveals a day that has not ended


class ContestState(StrEnum):
    UPCOMING = "upcoming"  # registration has not opened
    REGISTRATION = "registration"  # open for entries, trading not started
    WAITING = "waiting"  # registration closed, trading not started
    RUNNING = "running"  # the clock has revealed bars and not reached the last day
    FINISHED = "finished"  # the clock traded the last day (a minute contest: closed it)
    SETTLED = "settled"  # prizes paid


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleViolation(
            f"{name!r} is not an IANA time zone", field=field, rule=Rule.IANA_TIME_ZONE
        ) from None


def instant(value: datetime, tz: ZoneInfo) -> datetime:
    """An aware instant: a naive ``value`` is a wall-clock time in ``tz``."""
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def season_bounds(starts_on: date, ends_on: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The season as a half-open interval of instants: [start of starts_on, end of ends_on)."""
    return (
        datetime.combine(starts_on, time.min, tz),
        datetime.combine(ends_on + timedelta(days=1), time.min, tz),
    )


def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


@dataclass(frozen=True, slots=True)
class Season:
    id: int
    name: str
    description: str
    timezone: str
    starts_on: date
    ends_on: date
    market: str
    universe: tuple[str, ...]
    data_source: DataSource
    replay_start: date | None
    replay_end: date | None
    ended: bool

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Contest:
    id: int
    season_id: int
    title: str
    description: str
    market: str
    universe: tuple[str, ...]
    starting_cash: Decimal
    rule_overrides: dict[str, Any]
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    trading_start: date
    trading_end: date
    capacity: int | None
    min_level: int
    private: bool
    invite_code: str | None  # only shown to operators
    metric: MetricSpec
    secondary_metric: str | None
    qualification: Qualification
    prizes: tuple[PrizeLine, ...]
    teams: TeamSettings | None
    pk: PkSettings | None
    clock_day: date | None
    clock_ticks: int
    state: ContestState
    entries: int
    settled_at: datetime | None
    draws: tuple[DrawPrize, ...] = ()
    disclosures: Disclosures = Disclosures()
    entry_fee_points: int = 0
    draw_commitment: str | None = None  # SHA-256 of the draw seed, public from the start
    draw_seed: str | None = None  # revealed once the contest is settled
    target_segment: str | None = None  # only its members may join

    @property
    def has_prizes(self) -> bool:
        """Whether the contest gives anything away: ranked, PK or draw prizes."""
        pk_prizes = self.pk.prizes if self.pk is not None else ()
        return offers_prizes(prizes=self.prizes, draws=self.draws, pk_prizes=pk_prizes)

    notes_required_for_ranking: bool = False  # unranked without a note per filled order
    bar_interval: str = "daily"  # "minute": a live intraday contest
    feed_stale_since: datetime | None = None  # a minute contest's feed outage: matching paused

    @property
    def feed_status(self) -> str | None:
        """A minute contest's feed: ``live``, or ``feed_stale`` while matching is paused."""
        if self.bar_interval != "minute":
            return None
        return "feed_stale" if self.feed_stale_since is not None else "live"


def trading_over(
    *, clock_day: date | None, trading_end: date, minute: bool = False, closed_day: date | None
) -> bool:
    """Whether the contest has traded its last day. A daily contest's clock reveals a day
    once it has ended, so reaching ``trading_end`` is the end; a minute contest's clock day
    reaches ``trading_end`` at that session's first minute, so it is over only once its
    intraday clock has closed that session (``closed_day``, set at the session's last bar)."""
    if clock_day is None or clock_day < trading_end:
        return False
    return not minute or (closed_day is not None and closed_day >= trading_end)


def contest_state(
    *,
    now: datetime,
    opens_at: datetime | None,
    closes_at: datetime | None,
    clock_day: date | None,
    trading_end: date,
    settled_at: datetime | None,
    minute: bool = False,
    closed_day: date | None = None,
) -> ContestState:
    """The contest's state at ``now``; ``minute`` and ``closed_day`` as in ``trading_over``."""
    if settled_at is not None:
        return ContestState.SETTLED
    if clock_day is not None:
        over = trading_over(
            clock_day=clock_day, trading_end=trading_end, minute=minute, closed_day=closed_day
        )
        return ContestState.FINISHED if over else ContestState.RUNNING
    if opens_at is not None and now < opens_at:
        return ContestState.UPCOMING
    if closes_at is not None and now >= closes_at:
        return ContestState.WAITING
    return ContestState.REGISTRATION


def registration_open(
    *,
    now: datetime,
    opens_at: datetime | None,
    closes_at: datetime | None,
    clock_day: date | None,
    trading_end: date,
) -> bool:
    """Entries are taken inside the registration window (open-ended sides are open) and never
    once the clock has reached the last trading day; a window may run into trading (late
    entries start with the starting cash on the day they join)."""
    if clock_day is not None and clock_day >= trading_end:
        return False
    if opens_at is not None and now < opens_at:
        return False
    return closes_at is None or now < closes_at


def check_secondary(name: str | None) -> None:
    if name is not None and name not in BASE_METRICS:
        raise RuleViolation(
            f"secondary_metric {name!r} is not one of {', '.join(BASE_METRICS)}",
            field="secondary_metric",
            rule=Rule.ONE_OF,
        )
