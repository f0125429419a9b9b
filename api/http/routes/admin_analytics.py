"""Operators: live analytics (participation, weekly retention, the funnel, points liability,
reward cost) over a date window and, optionally, a segment of members."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.http.deps import DatabaseDep, OperatorUser, SettingsDep
from api.http.problems import problem_doc
from api.http.schemas.analytics import (
    CohortOut,
    FunnelOut,
    LiabilityOut,
    OverviewOut,
    RetentionOut,
    RewardCostOut,
    StageOut,
    WindowOut,
)
from core.clock import utc_now
from engine.analytics import model
from engine.analytics import services as analytics
from engine.analytics.model import Window
from engine.analytics.services import Audience, SegmentResolver
from engine.analytics.uow import AnalyticsUnitOfWork

router = APIRouter(
    prefix="/admin/analytics",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
        422: problem_doc("A reversed or too long window, or an unknown segment"),
    },
)

SEGMENT_KEY = r"^[a-z0-9][a-z0-9_:-]{0,63}$"


async def _window(
    first: Annotated[
        date | None, Query(alias="from", description="First day (default: 27 days before to)")
    ] = None,
    last: Annotated[
        date | None, Query(alias="to", description="Last day (default: today, UTC)")
    ] = None,
) -> Window:
    return model.window(first, last, today=utc_now().date())


async def _audience(
    request: Request,
    segment: Annotated[
        str | None, Query(pattern=SEGMENT_KEY, description="Only this segment's members")
    ] = None,
) -> Audience:
    # The composition root may install ``app.state.segment_resolver(session, key) -> ids``;
    # until it does, any segment is unknown (422 unknown_segment).
    resolver: SegmentResolver | None = getattr(request.app.state, "segment_resolver", None)
    return Audience(segment=segment, resolver=resolver)


async def _uow(database: DatabaseDep) -> AnalyticsUnitOfWork:
    return AnalyticsUnitOfWork(database.sessions)


WindowDep = Annotated[Window, Depends(_window)]
AudienceDep = Annotated[Audience, Depends(_audience)]
AnalyticsUow = Annotated[AnalyticsUnitOfWork, Depends(_uow)]
Streak = Annotated[
    int,
    Query(ge=1, le=analytics.MAX_STREAK, description="The funnel's check-in streak, in days"),
]


@router.get("/overview", response_model=OverviewOut)
def get_overview(
    _: OperatorUser,
    uow: AnalyticsUow,
    window: WindowDep,
    audience: AudienceDep,
    settings: SettingsDep,
    streak: Streak = model.DEFAULT_STREAK,
) -> OverviewOut:
    """Participation, the funnel, points liability and reward cost, read in one snapshot."""
    overview = analytics.overview(
        uow, window, audience, points_cny_rate=settings.points_cny_rate, streak=streak
    )
    return OverviewOut.of(overview, segment=audience.segment)


@router.get("/retention", response_model=RetentionOut)
def get_retention(
    _: OperatorUser, uow: AnalyticsUow, window: WindowDep, audience: AudienceDep
) -> RetentionOut:
    """Weekly cohorts by sign-up week, with the members active each week since."""
    cohorts = analytics.retention(uow, window, audience)
    return RetentionOut(window=WindowOut.of(window), cohorts=[CohortOut.of(c) for c in cohorts])


@router.get("/funnel", response_model=FunnelOut)
def get_funnel(
    _: OperatorUser,
    uow: AnalyticsUow,
    window: WindowDep,
    audience: AudienceDep,
    streak: Streak = model.DEFAULT_STREAK,
) -> FunnelOut:
    """Sign-up → contest entry → first trade → check-in streak → redemption (cumulative)."""
    stages = analytics.engagement_funnel(uow, window, audience, streak=streak)
    return FunnelOut(
        window=WindowOut.of(window), streak=streak, stages=[StageOut.of(s) for s in stages]
    )


@router.get("/liability", response_model=LiabilityOut)
def get_liability(
    _: OperatorUser, uow: AnalyticsUow, audience: AudienceDep, settings: SettingsDep
) -> LiabilityOut:
    """Points members hold now: spendable, held by pending redemptions, and their CNY cost."""
    owed = analytics.points_liability(uow, audience, points_cny_rate=settings.points_cny_rate)
    return LiabilityOut.of(owed)


@router.get("/reward-cost", response_model=RewardCostOut)
def get_reward_cost(
    _: OperatorUser,
    uow: AnalyticsUow,
    window: WindowDep,
    audience: AudienceDep,
    settings: SettingsDep,
) -> RewardCostOut:
    """Points issued (by reason) and redeemed (by item, cancellations left out) in the window."""
    cost = analytics.reward_cost(uow, window, audience, points_cny_rate=settings.points_cny_rate)
    return RewardCostOut.of(cost)
