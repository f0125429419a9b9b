"""Read-only use cases: each figure over a validated window and an optional population.

A population is ``user_ids`` (any set of member ids), a ``segment`` key resolved by the
``resolver`` the composition root supplies, or both (their intersection). Every figure is read
in one snapshot transaction, so the parts of an overview agree with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from core.errors import NotFound, RuleViolation
from engine.analytics.model import (
    DEFAULT_STREAK,
    Cohort,
    FunnelStage,
    Liability,
    Overview,
    Participation,
    Population,
    RewardCost,
    Window,
    funnel,
    liability,
    participation_days,
    retention_table,
    week_number,
)
from engine.analytics.store import AnalyticsRepository
from engine.analytics.uow import AnalyticsUnitOfWork

SegmentResolver = Callable[[Session, str], Iterable[int]]
MAX_STREAK = 366


class UnknownSegment(RuleViolation):
    """A segment key nobody can resolve (no resolver installed, or no such segment)."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Whom the figures cover: everyone, ``user_ids``, a segment's members, or both."""

    user_ids: Population = None
    segment: str | None = None
    resolver: SegmentResolver | None = None

    def resolve(self, session: Session) -> Population:
        if self.segment is None:
            return self.user_ids
        if self.resolver is None:
            raise UnknownSegment(
                f"no segment {self.segment!r}: segments are not available",
                field="segment",
                rule="unknown_segment",
            )
        try:
            members = frozenset(self.resolver(session, self.segment))
        except (KeyError, LookupError, NotFound):
            raise UnknownSegment(
                f"no segment {self.segment!r}", field="segment", rule="unknown_segment"
            ) from None
        return members if self.user_ids is None else members & self.user_ids


EVERYONE = Audience()


def participation(
    uow: AnalyticsUnitOfWork, window: Window, audience: Audience = EVERYONE
) -> Participation:
    """Members, distinct active members, and per-day activity (check-ins, orders,
    redemptions, sign-ups) inside the window."""
    with uow.reading(snapshot=True):
        return _participation(uow.analytics, window, audience.resolve(uow.session))


def retention(
    uow: AnalyticsUnitOfWork, window: Window, audience: Audience = EVERYONE
) -> tuple[Cohort, ...]:
    """Weekly cohorts of the members who signed up in the window, each with the members
    active in each week since (to the window's last week)."""
    with uow.reading(snapshot=True):
        user_ids = audience.resolve(uow.session)
        repo = uow.analytics
        return retention_table(
            repo.cohort_sizes(window, user_ids),
            repo.retention_cells(window, user_ids),
            last_week=week_number(window.last),
        )


def engagement_funnel(
    uow: AnalyticsUnitOfWork,
    window: Window,
    audience: Audience = EVERYONE,
    *,
    streak: int = DEFAULT_STREAK,
) -> tuple[FunnelStage, ...]:
    """Sign-up → contest entry → first trade → a check-in streak of ``streak`` days →
    redemption, for the members who signed up in the window."""
    if not 1 <= streak <= MAX_STREAK:
        raise RuleViolation(
            f"streak must be 1..{MAX_STREAK}", field="streak", rule="range", limit=MAX_STREAK
        )
    with uow.reading(snapshot=True):
        user_ids = audience.resolve(uow.session)
        return funnel(uow.analytics.funnel_counts(window, user_ids, streak=streak))


def points_liability(
    uow: AnalyticsUnitOfWork, audience: Audience = EVERYONE, *, points_cny_rate: Decimal
) -> Liability:
    """Points the members hold now (spendable and held by pending redemptions), and what the
    spendable part would cost at ``points_cny_rate`` CNY a point."""
    with uow.reading(snapshot=True):
        return _liability(uow.analytics, audience.resolve(uow.session), points_cny_rate)


def reward_cost(
    uow: AnalyticsUnitOfWork,
    window: Window,
    audience: Audience = EVERYONE,
    *,
    points_cny_rate: Decimal,
) -> RewardCost:
    """Points issued (by reason) and redeemed (by item) inside the window."""
    with uow.reading(snapshot=True):
        return _reward_cost(uow.analytics, window, audience.resolve(uow.session), points_cny_rate)


def overview(
    uow: AnalyticsUnitOfWork,
    window: Window,
    audience: Audience = EVERYONE,
    *,
    points_cny_rate: Decimal,
    streak: int = DEFAULT_STREAK,
) -> Overview:
    """Participation, the funnel, liability and reward cost, read in one snapshot."""
    with uow.reading(snapshot=True):
        user_ids = audience.resolve(uow.session)
        repo = uow.analytics
        return Overview(
            participation=_participation(repo, window, user_ids),
            funnel=funnel(repo.funnel_counts(window, user_ids, streak=streak)),
            liability=_liability(repo, user_ids, points_cny_rate),
            reward_cost=_reward_cost(repo, window, user_ids, points_cny_rate),
        )


def _participation(
    repo: AnalyticsRepository, window: Window, user_ids: Population
) -> Participation:
    return Participation(
        window=window,
        members=repo.members_by(window.last, user_ids),
        active_members=repo.active_members(window, user_ids),
        days=participation_days(window, repo.activity_by_day(window, user_ids)),
    )


def _liability(repo: AnalyticsRepository, user_ids: Population, rate: Decimal) -> Liability:
    holders, credits, debits, pending = repo.points_balances(user_ids)
    return liability(holders, credits - debits, pending, points_cny_rate=rate)


def _reward_cost(
    repo: AnalyticsRepository, window: Window, user_ids: Population, rate: Decimal
) -> RewardCost:
    return RewardCost(
        window=window,
        issued=repo.issued_points(window, user_ids),
        redeemed=repo.redeemed_items(window, user_ids),
        points_cny_rate=rate,
    )
