"""HTTP shapes of weekly leagues: the rules (operators), a member's cohort, profile and
history, weeks and their closing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from engine.leagues import model
from engine.leagues.model import Basis, LeagueConfig, RankReward, TierRules, Zone
from engine.leagues.services import (
    HistoryEntry,
    MemberProfile,
    Movement,
    MyLeague,
    Payout,
    Week,
    WeekClosing,
)
from ledger.model import MAX_AMOUNT

Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
Place = Annotated[int, Field(strict=True, ge=0, le=1_000)]
TierNumber = Annotated[int, Field(strict=True, ge=1, le=model.TIER_COUNT)]


class RewardIO(BaseModel):
    """Points and XP for the places ``low`` … ``high`` of a cohort."""

    model_config = ConfigDict(extra="forbid")

    low: Place
    high: Place
    points: Amount = 0
    xp: Amount = 0


class TierIO(BaseModel):
    """One tier's zone sizes (for a full cohort) and reward bands."""

    model_config = ConfigDict(extra="forbid")

    tier: TierNumber
    name: str | None = Field(default=None, max_length=32, description="Shown only; ignored")
    promote: Place
    demote: Place
    rewards: list[RewardIO] = Field(default_factory=list, max_length=20)

    @classmethod
    def of(cls, t: TierRules) -> TierIO:
        return cls(
            tier=t.tier,
            name=model.tier_name(t.tier),
            promote=t.promote,
            demote=t.demote,
            rewards=[RewardIO(low=b.low, high=b.high, points=b.points, xp=b.xp) for b in t.rewards],
        )


class LeagueConfigIO(BaseModel):
    """The league's rules: ten tiers, the cohort size and what ranks a cohort."""

    model_config = ConfigDict(extra="forbid")

    cohort_size: Annotated[int, Field(strict=True, ge=0, le=1_000)] = model.DEFAULT_COHORT_SIZE
    basis: Basis = Basis.XP
    contest_id: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)] | None = None
    tiers: list[TierIO] = Field(max_length=20)

    def to_config(self) -> LeagueConfig:
        return LeagueConfig(
            cohort_size=self.cohort_size,
            basis=self.basis,
            contest_id=self.contest_id,
            tiers=tuple(
                TierRules(
                    tier=t.tier,
                    promote=t.promote,
                    demote=t.demote,
                    rewards=tuple(RankReward(b.low, b.high, b.points, b.xp) for b in t.rewards),
                )
                for t in self.tiers
            ),
        )

    @classmethod
    def of(cls, c: LeagueConfig) -> LeagueConfigIO:
        return cls(
            cohort_size=c.cohort_size,
            basis=c.basis,
            contest_id=c.contest_id,
            tiers=[TierIO.of(t) for t in c.tiers],
        )


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(min_length=1, max_length=64, description="An IANA time zone name")


class ProfileOut(BaseModel):
    tier: int
    tier_name: str
    time_zone: str

    @classmethod
    def of(cls, p: MemberProfile) -> ProfileOut:
        return cls(tier=p.tier, tier_name=p.tier_name, time_zone=p.time_zone)


class PlaceOut(BaseModel):
    rank: int
    member_id: int
    display_name: str
    score: Decimal | None
    zone: Zone
    me: bool


class MyLeagueOut(BaseModel):
    """The member's cohort: live ranks until the week is closed (``final``), with zones."""

    week_id: int
    starts_at: datetime
    ends_at: datetime
    days_left: int
    tier: int
    tier_name: str
    basis: Basis
    promotion_zone: int
    demotion_zone: int
    final: bool
    my_rank: int
    standings: list[PlaceOut]

    @classmethod
    def of(cls, m: MyLeague, member_id: int) -> MyLeagueOut:
        return cls(
            week_id=m.week_id,
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            days_left=m.days_left,
            tier=m.tier,
            tier_name=m.tier_name,
            basis=m.basis,
            promotion_zone=m.zones.promote,
            demotion_zone=m.zones.demote,
            final=m.final,
            my_rank=m.my_rank,
            standings=[
                PlaceOut(
                    rank=p.rank,
                    member_id=p.member_id,
                    display_name=p.display_name,
                    score=p.score,
                    zone=p.zone,
                    me=p.member_id == member_id,
                )
                for p in m.places
            ],
        )


class HistoryEntryOut(BaseModel):
    week_id: int
    starts_at: datetime
    tier: int
    tier_name: str
    rank: int
    cohort_size: int
    score: Decimal | None
    zone: Zone
    next_tier: int
    points: int
    xp: int

    @classmethod
    def of(cls, h: HistoryEntry) -> HistoryEntryOut:
        return cls(
            week_id=h.week_id,
            starts_at=h.starts_at,
            tier=h.tier,
            tier_name=model.tier_name(h.tier),
            rank=h.rank,
            cohort_size=h.cohort_size,
            score=h.score,
            zone=h.zone,
            next_tier=h.next_tier,
            points=h.points,
            xp=h.xp,
        )


class HistoryOut(BaseModel):
    items: list[HistoryEntryOut]


class WeekOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    cohorts: int
    members: int
    finalized_at: datetime | None
    closed_at: datetime | None
    config: LeagueConfigIO

    @classmethod
    def of(cls, w: Week) -> WeekOut:
        return cls(
            id=w.id,
            starts_at=w.starts_at,
            ends_at=w.ends_at,
            cohorts=w.cohorts,
            members=w.members,
            finalized_at=w.finalized_at,
            closed_at=w.closed_at,
            config=LeagueConfigIO.of(w.config),
        )


class WeeksOut(BaseModel):
    items: list[WeekOut]


class PayoutOut(BaseModel):
    member_id: int
    tier: int
    rank: int
    points: int
    xp: int
    award_id: str
    paid_at: datetime | None

    @classmethod
    def of(cls, p: Payout) -> PayoutOut:
        return cls(
            member_id=p.member_id,
            tier=p.tier,
            rank=p.rank,
            points=p.points,
            xp=p.xp,
            award_id=p.award_id,
            paid_at=p.paid_at,
        )


class MovementOut(BaseModel):
    tier: int
    promoted: int
    stayed: int
    demoted: int

    @classmethod
    def of(cls, m: Movement) -> MovementOut:
        return cls(tier=m.tier, promoted=m.promoted, stayed=m.stayed, demoted=m.demoted)


class RefusalOut(BaseModel):
    award_id: str
    rule: str


class WeekClosingOut(BaseModel):
    week_id: int
    payouts: list[PayoutOut]
    movements: list[MovementOut]
    paid_now: int
    already_paid: int
    refused: list[RefusalOut]
    closed_at: datetime | None

    @classmethod
    def of(cls, c: WeekClosing) -> WeekClosingOut:
        return cls(
            week_id=c.week_id,
            payouts=[PayoutOut.of(p) for p in c.payouts],
            movements=[MovementOut.of(m) for m in c.movements],
            paid_now=c.paid_now,
            already_paid=c.already_paid,
            refused=[RefusalOut(award_id=a, rule=r) for a, r in c.refused],
            closed_at=c.closed_at,
        )
