"""Pure analytics: date windows, weekly cohorts, the funnel, liability; no I/O.

Weeks start on Monday and are numbered as whole weeks since the Monday 1969-12-29, so the SQL
side can bucket a date with integer arithmetic on both databases (see ``store.week_number``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.errors import RuleViolation

EPOCH_MONDAY = date(1969, 12, 29)  # week 0 starts here; 1970-01-01 was a Thursday
MAX_WINDOW_DAYS = 366
DEFAULT_WINDOW_DAYS = 28
DEFAULT_STREAK = 3  # the funnel's "check-in streak" stage: a streak of at least this many days

MemberId = int
Population = frozenset[int] | None  # None: every member


class WindowRefused(RuleViolation):
    """A date window that is reversed or longer than allowed."""


@dataclass(frozen=True, slots=True)
class Window:
    """Calendar days ``first``..``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def window(
    first: date | None, last: date | None, *, today: date, max_days: int = MAX_WINDOW_DAYS
) -> Window:
    """The window ``first``..``last`` (defaults: the last 28 days up to ``today``), validated."""
    end = last or today
    start = first or end - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if start > end:
        raise WindowRefused(
            f"from ({start}) is after to ({end})", field="from", rule="ordered_window"
        )
    if (end - start).days + 1 > max_days:
        raise WindowRefused(
            f"the window spans {(end - start).days + 1} days; at most {max_days}",
            field="to",
            rule="max_span",
            limit=max_days,
        )
    return Window(start, end)


def week_number(day: date) -> int:
    """Whole weeks since the Monday 1969-12-29 (Monday-started weeks)."""
    return (day - EPOCH_MONDAY).days // 7


def week_start(number: int) -> date:
    return EPOCH_MONDAY + timedelta(weeks=number)


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cohort:
    """Members who signed up in one week, and how many of them were active ``k`` weeks later
    (``retained[0]`` is the sign-up week itself)."""

    week: date
    size: int
    retained: tuple[int, ...]

    @property
    def rates(self) -> tuple[Decimal, ...]:
        """Retained share per week offset, to 4 places (0 for an empty cohort)."""
        if not self.size:
            return tuple(Decimal(0) for _ in self.retained)
        return tuple((Decimal(n) / self.size).quantize(Decimal("0.0001")) for n in self.retained)


RetentionCell = tuple[int, int, int]  # (cohort week, active week, distinct members)


def retention_cells(
    signed_up: Mapping[MemberId, date], active: Iterable[tuple[MemberId, date]]
) -> dict[tuple[int, int], int]:
    """Distinct members per (sign-up week, active week): what the store's GROUP BY returns.

    Activity before a member's sign-up week is ignored (it cannot be retention)."""
    pairs = {
        (member, week_number(day))
        for member, day in active
        if member in signed_up and week_number(day) >= week_number(signed_up[member])
    }
    return dict(Counter((week_number(signed_up[member]), week) for member, week in pairs))


def retention_table(
    sizes: Mapping[int, int], cells: Mapping[tuple[int, int], int], *, last_week: int
) -> tuple[Cohort, ...]:
    """Cohorts in week order, each with one count per week from its sign-up week to
    ``last_week`` (missing cells are zero)."""
    return tuple(
        Cohort(
            week=week_start(cohort),
            size=size,
            retained=tuple(cells.get((cohort, week), 0) for week in range(cohort, last_week + 1)),
        )
        for cohort, size in sorted(sizes.items())
        if cohort <= last_week
    )


# --- the funnel -------------------------------------------------------------------------------

FUNNEL_STAGES = ("signed_up", "joined_contest", "first_trade", "check_in_streak", "redeemed")


@dataclass(frozen=True, slots=True)
class FunnelStage:
    stage: str
    members: int
    #: share of the stage before (1 for the first stage; 0 after an empty stage)
    conversion: Decimal


def funnel(counts: Iterable[int]) -> tuple[FunnelStage, ...]:
    """Stages from cumulative counts (members who reached this stage and every one before)."""
    stages: list[FunnelStage] = []
    before: int | None = None
    for name, members in zip(FUNNEL_STAGES, counts, strict=True):
        if before is None:
            rate = Decimal(1)
        elif before == 0:
            rate = Decimal(0)
        else:
            rate = (Decimal(members) / before).quantize(Decimal("0.0001"))
        stages.append(FunnelStage(name, members, rate))
        before = members
    return tuple(stages)


def funnel_counts(
    signed_up: Iterable[MemberId], reached: Mapping[str, frozenset[MemberId] | set[MemberId]]
) -> tuple[int, ...]:
    """Cumulative stage counts: a member counts at a stage only if they also reached every
    earlier one, so the counts never increase."""
    remaining = set(signed_up)
    counts = [len(remaining)]
    for stage in FUNNEL_STAGES[1:]:
        remaining &= set(reached.get(stage, ()))
        counts.append(len(remaining))
    return tuple(counts)


# --- points liability and reward cost ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Liability:
    """Points members hold: ``posted`` = ``spendable`` (free to spend) + ``held`` (reserved by
    pending redemptions awaiting fulfilment)."""

    members: int
    posted: int
    held: int
    cost_cny: Decimal

    @property
    def spendable(self) -> int:
        return self.posted - self.held


def liability(holders: int, posted: int, held: int, *, points_cny_rate: Decimal) -> Liability:
    """Members' points from the ledger's totals: ``posted`` (credits - debits posted) over
    their points accounts, ``held`` (pending debits), ``holders`` with posted points."""
    return Liability(holders, posted, held, points_value(posted - held, points_cny_rate))


def points_value(points: int, rate: Decimal) -> Decimal:
    """What ``points`` cost in CNY at ``rate`` CNY a point, to the fen."""
    return (Decimal(points) * rate).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class IssuedPoints:
    reason: str
    points: int
    transfers: int


@dataclass(frozen=True, slots=True)
class RedeemedItem:
    item_key: str
    redemptions: int
    points: int


@dataclass(frozen=True, slots=True)
class RewardCost:
    """Points issued to members (by reason) and redeemed by them (by item) inside a window;
    cancelled redemptions are left out."""

    window: Window
    issued: tuple[IssuedPoints, ...]
    redeemed: tuple[RedeemedItem, ...]
    points_cny_rate: Decimal

    @property
    def issued_points(self) -> int:
        return sum(row.points for row in self.issued)

    @property
    def redeemed_points(self) -> int:
        return sum(row.points for row in self.redeemed)

    @property
    def issued_cny(self) -> Decimal:
        return points_value(self.issued_points, self.points_cny_rate)

    @property
    def redeemed_cny(self) -> Decimal:
        return points_value(self.redeemed_points, self.points_cny_rate)


# --- participation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: date
    active_members: int
    check_ins: int
    orders: int
    redemptions: int
    sign_ups: int


@dataclass(frozen=True, slots=True)
class Participation:
    window: Window
    members: int  # signed up by the window's last day
    active_members: int  # distinct members active on any day of the window
    days: tuple[DayActivity, ...]


def participation_days(
    window_: Window, rows: Mapping[date, DayActivity]
) -> tuple[DayActivity, ...]:
    """One row per day of the window, zeros where nothing happened."""
    return tuple(rows.get(day) or DayActivity(day, 0, 0, 0, 0, 0) for day in window_.each_day())


@dataclass(frozen=True, slots=True)
class Overview:
    participation: Participation
    funnel: tuple[FunnelStage, ...]
    liability: Liability
    reward_cost: RewardCost
