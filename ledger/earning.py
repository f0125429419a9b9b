"""Earning rules (operator-configurable) and the calendar arithmetic they need. Pure code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import RuleViolation


@dataclass(frozen=True, slots=True)
class Award:
    points: int = 0
    xp: int = 0


@dataclass(frozen=True, slots=True)
class TaskRule:
    key: str
    title: str
    award: Award
    per_day_cap: int | None = None
    per_week_cap: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    target_segment: str | None = None  # offered and paid to its members only (core.segments)

    def open_at(self, moment: datetime) -> bool:
        return (self.starts_at is None or moment >= self.starts_at) and (
            self.ends_at is None or moment < self.ends_at
        )


@dataclass(frozen=True, slots=True)
class EarningRules:
    version: int = 0
    timezone: str = "UTC"
    checkin: Award = Award(points=10, xp=5)
    streak_bonuses: dict[int, Award] = field(default_factory=lambda: {7: Award(50, 20)})
    repeat_streak_bonuses: bool = True  # day 7 bonus again on day 14, 21 …
    tasks: dict[str, TaskRule] = field(default_factory=dict)
    referral_inviter: Award = Award(points=100, xp=50)
    referral_invitee: Award = Award(points=100, xp=50)
    points_expiry_days: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_day(self, moment: datetime) -> date:
        """The programme's calendar day at ``moment`` (check-ins and caps count per local day)."""
        return moment.astimezone(self.zone).date()

    def streak_bonus(self, streak: int) -> Award:
        if streak in self.streak_bonuses:
            return self.streak_bonuses[streak]
        if self.repeat_streak_bonuses and self.streak_bonuses:
            cycle = max(self.streak_bonuses)
            return self.streak_bonuses.get((streak - 1) % cycle + 1, Award())
        return Award()


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleViolation(
            f"unknown time zone {name!r}", field="timezone", rule="iana_time_zone"
        ) from exc
    return name


def next_streak(last_day: date | None, last_streak: int, today: date) -> int:
    """Consecutive local days: yesterday continues the streak, any gap resets it to 1."""
    return last_streak + 1 if last_day == today - timedelta(days=1) else 1


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def multiplied(points: int, multiplier: Decimal) -> int:
    """Points scaled by a level's multiplier, rounded down to whole points."""
    return int((Decimal(points) * multiplier).to_integral_value(rounding=ROUND_FLOOR))
