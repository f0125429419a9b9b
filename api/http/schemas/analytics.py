"""Bodies of the operator analytics routes (numbers of members, points as ints, CNY and
shares as decimal strings)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from engine.analytics.model import (
    Cohort,
    DayActivity,
    FunnelStage,
    IssuedPoints,
    Liability,
    Overview,
    Participation,
    RedeemedItem,
    RewardCost,
    Window,
)


class WindowOut(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date
    days: int

    @classmethod
    def of(cls, window: Window) -> WindowOut:
        return cls(from_=window.first, to=window.last, days=window.days)


class DayOut(BaseModel):
    day: date
    active_members: int
    check_ins: int
    orders: int
    redemptions: int
    sign_ups: int

    @classmethod
    def of(cls, day: DayActivity) -> DayOut:
        return cls(
            day=day.day,
            active_members=day.active_members,
            check_ins=day.check_ins,
            orders=day.orders,
            redemptions=day.redemptions,
            sign_ups=day.sign_ups,
        )


class ParticipationOut(BaseModel):
    members: int = Field(description="members signed up by the window's last day")
    active_members: int = Field(description="distinct members active inside the window")
    days: list[DayOut]

    @classmethod
    def of(cls, seen: Participation) -> ParticipationOut:
        return cls(
            members=seen.members,
            active_members=seen.active_members,
            days=[DayOut.of(d) for d in seen.days],
        )


class CohortOut(BaseModel):
    week: date = Field(description="the Monday of the sign-up week")
    size: int
    retained: list[int] = Field(description="members active 0, 1, 2 … weeks after sign-up")
    rates: list[Decimal]

    @classmethod
    def of(cls, cohort: Cohort) -> CohortOut:
        return cls(
            week=cohort.week,
            size=cohort.size,
            retained=list(cohort.retained),
            rates=list(cohort.rates),
        )


class RetentionOut(BaseModel):
    window: WindowOut
    cohorts: list[CohortOut]


class StageOut(BaseModel):
    stage: str
    members: int
    conversion: Decimal = Field(description="share of the stage before")

    @classmethod
    def of(cls, stage: FunnelStage) -> StageOut:
        return cls(stage=stage.stage, members=stage.members, conversion=stage.conversion)


class FunnelOut(BaseModel):
    window: WindowOut
    streak: int
    stages: list[StageOut]


class LiabilityOut(BaseModel):
    members: int = Field(description="members holding posted points")
    posted: int
    held: int = Field(description="points reserved by redemptions awaiting fulfilment")
    spendable: int
    cost_cny: Decimal = Field(description="the spendable points at the configured CNY rate")

    @classmethod
    def of(cls, owed: Liability) -> LiabilityOut:
        return cls(
            members=owed.members,
            posted=owed.posted,
            held=owed.held,
            spendable=owed.spendable,
            cost_cny=owed.cost_cny,
        )


class IssuedOut(BaseModel):
    reason: str
    points: int
    transfers: int

    @classmethod
    def of(cls, row: IssuedPoints) -> IssuedOut:
        return cls(reason=row.reason, points=row.points, transfers=row.transfers)


class RedeemedOut(BaseModel):
    item_key: str
    redemptions: int
    points: int

    @classmethod
    def of(cls, row: RedeemedItem) -> RedeemedOut:
        return cls(item_key=row.item_key, redemptions=row.redemptions, points=row.points)


class RewardCostOut(BaseModel):
    window: WindowOut
    points_cny_rate: Decimal
    issued: list[IssuedOut]
    redeemed: list[RedeemedOut]
    issued_points: int
    redeemed_points: int
    issued_cny: Decimal
    redeemed_cny: Decimal

    @classmethod
    def of(cls, cost: RewardCost) -> RewardCostOut:
        return cls(
            window=WindowOut.of(cost.window),
            points_cny_rate=cost.points_cny_rate,
            issued=[IssuedOut.of(r) for r in cost.issued],
            redeemed=[RedeemedOut.of(r) for r in cost.redeemed],
            issued_points=cost.issued_points,
            redeemed_points=cost.redeemed_points,
            issued_cny=cost.issued_cny,
            redeemed_cny=cost.redeemed_cny,
        )


class OverviewOut(BaseModel):
    window: WindowOut
    segment: str | None
    participation: ParticipationOut
    funnel: list[StageOut]
    liability: LiabilityOut
    reward_cost: RewardCostOut

    @classmethod
    def of(cls, overview: Overview, *, segment: str | None) -> OverviewOut:
        return cls(
            window=WindowOut.of(overview.participation.window),
            segment=segment,
            participation=ParticipationOut.of(overview.participation),
            funnel=[StageOut.of(s) for s in overview.funnel],
            liability=LiabilityOut.of(overview.liability),
            reward_cost=RewardCostOut.of(overview.reward_cost),
        )
