"""Weekly leagues: members see their cohort (ranks, zones, days left), their history and their
time zone; operators set the rules, open the current week and close weeks that have ended."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import CurrentUser, IdPath, LeagueUow, OperatorUser
from api.http.problems import problem_doc
from api.http.schemas.leagues import (
    HistoryEntryOut,
    HistoryOut,
    LeagueConfigIO,
    MyLeagueOut,
    ProfileIn,
    ProfileOut,
    WeekClosingOut,
    WeekOut,
    WeeksOut,
)
from engine.leagues import services as leagues

router = APIRouter(
    prefix="/leagues",
    tags=["leagues"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Accept the terms in force first (consent_required)"),
    },
)
admin_router = APIRouter(
    prefix="/admin/leagues",
    tags=["admin: leagues"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
NO_WEEK: dict[int | str, dict[str, Any]] = {404: problem_doc("No such league week")}


# --- members ---------------------------------------------------------------------------------


@router.get(
    "/me",
    response_model=MyLeagueOut,
    responses={404: problem_doc("No week is open, or the member joined after it was formed")},
)
def my_league(user: CurrentUser, uow: LeagueUow) -> MyLeagueOut:
    """My cohort this week: standings with promotion and demotion zones, my tier, days left."""
    return MyLeagueOut.of(leagues.my_league(uow, user.id), user.id)


@router.get("/me/history", response_model=HistoryOut)
def my_history(user: CurrentUser, uow: LeagueUow) -> HistoryOut:
    """My closed weeks, newest first: tier, final rank, zone, next tier and reward."""
    return HistoryOut(items=[HistoryEntryOut.of(h) for h in leagues.history(uow, user.id)])


@router.get("/me/profile", response_model=ProfileOut)
def my_profile(user: CurrentUser, uow: LeagueUow) -> ProfileOut:
    """My tier and the time zone my cohorts are matched by."""
    return ProfileOut.of(leagues.profile(uow, user.id))


@router.put("/me/profile", response_model=ProfileOut)
def put_profile(body: ProfileIn, user: CurrentUser, uow: LeagueUow) -> ProfileOut:
    """Set my IANA time zone (cohorts are matched by it from next week)."""
    return ProfileOut.of(leagues.set_time_zone(uow, user.id, body.time_zone))


# --- operators -------------------------------------------------------------------------------


@admin_router.get("/settings", response_model=LeagueConfigIO)
def get_settings(_: OperatorUser, uow: LeagueUow) -> LeagueConfigIO:
    """The rules in force: tiers with zone sizes and rewards, cohort size, ranking basis."""
    return LeagueConfigIO.of(leagues.get_config(uow))


@admin_router.put("/settings", response_model=LeagueConfigIO)
@audited("league.configure", subject="league_settings:1", state=states.league_settings)
def put_settings(body: LeagueConfigIO, operator: OperatorUser, uow: LeagueUow) -> LeagueConfigIO:
    """Replace the rules (weeks already open keep theirs)."""
    config = leagues.set_config(uow, body.to_config(), operator_id=operator.id)
    return LeagueConfigIO.of(config)


@admin_router.get("/weeks", response_model=WeeksOut)
def list_weeks(_: OperatorUser, uow: LeagueUow) -> WeeksOut:
    """Every league week, oldest first."""
    return WeeksOut(items=[WeekOut.of(w) for w in leagues.list_weeks(uow)])


@admin_router.post(
    "/weeks",
    status_code=status.HTTP_201_CREATED,
    response_model=WeekOut,
    responses={409: problem_doc("The previous week is not closed (`previous_week_open`)")},
)
@audited("league_week.open", subject="league_week:{result.id}", state=states.league_week)
def open_week(_: OperatorUser, uow: LeagueUow) -> WeekOut:
    """Open this week and form its cohorts; safe to repeat (answers the week opened)."""
    return WeekOut.of(leagues.open_week(uow))


@admin_router.get("/weeks/{week_id}", response_model=WeekOut, responses=NO_WEEK)
def get_week(week_id: IdPath, _: OperatorUser, uow: LeagueUow) -> WeekOut:
    """One week: its window, rules, size and whether it is closed."""
    return WeekOut.of(leagues.get_week(uow, week_id))


@admin_router.post(
    "/weeks/{week_id}/close",
    response_model=WeekClosingOut,
    responses={**NO_WEEK, 409: problem_doc("The week has not ended (`week_not_over`)")},
)
@audited("league_week.close", subject="league_week:{week_id}", state=states.league_week)
def close_week(week_id: IdPath, _: OperatorUser, uow: LeagueUow) -> WeekClosingOut:
    """Rank, promote and demote an ended week and pay its rewards; safe to repeat (pays once)."""
    return WeekClosingOut.of(leagues.close_week(uow, week_id))
