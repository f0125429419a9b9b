"""Builders for league tests: small rules (cohorts of 4, one up, one down, two paid places), a
fixed week and XP earned at a chosen moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.leagues import model
from engine.leagues.model import LeagueConfig, RankReward, TierRules
from ledger.earning import Award
from ledger.engagement.awards import award
from ledger.services import LedgerUnitOfWork

WEEK0 = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
WEEK1 = WEEK0 + model.WEEK
DURING = WEEK0 + timedelta(days=2)


def small_config(**overrides: object) -> LeagueConfig:
    """Cohorts of 4; each tier promotes 1 and demotes 1 (not at the ends); rank 1 is paid 100
    points and 10 XP, rank 2 50 points."""
    tiers = tuple(
        TierRules(
            tier=t,
            promote=0 if t == model.TOP_TIER else 1,
            demote=0 if t == model.BOTTOM_TIER else 1,
            rewards=(RankReward(1, 1, points=100, xp=10), RankReward(2, 2, points=50)),
        )
        for t in range(model.BOTTOM_TIER, model.TOP_TIER + 1)
    )
    return LeagueConfig(tiers=tiers, cohort_size=4, **overrides)  # type: ignore[arg-type]


def earn(uow: LedgerUnitOfWork, member_id: int, xp: int, *, at: datetime, tag: str = "") -> None:
    """``xp`` XP for the member, posted at ``at`` (as a task would pay it)."""
    award(
        uow,
        member_id,
        Award(xp=xp),
        award_id=f"test:{member_id}:{at.timestamp():.0f}{tag}",
        reason="task",
        now=at,
    )
