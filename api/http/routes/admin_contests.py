"""Operators configuring seasons and contests and driving the contest clock."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import EngineUow, IdPath, OperatorUser, PrizeLimitsDep
from api.http.problems import problem_doc
from api.http.schemas.contests import (
    ClockIn,
    ClockOut,
    ContestIn,
    ContestOut,
    ContestPatch,
    SeasonIn,
    SeasonOut,
    SeasonPatch,
)
from engine import clock
from engine.contests import seasons, services

router = APIRouter(
    prefix="/admin",
    tags=["admin: contests"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
        422: problem_doc("Invalid settings: `field` and `rule` name the problem"),
    },
)
_LOCKED: dict[int | str, dict[str, Any]] = {
    409: problem_doc("Locked field (trading started, date passed) or ended season")
}


@router.post("/seasons", status_code=status.HTTP_201_CREATED, response_model=SeasonOut)
@audited("season.create", subject="season:{result.id}")
def create_season(body: SeasonIn, operator: OperatorUser, uow: EngineUow) -> SeasonOut:
    """Create a season over a market's universe, replaying stored bars or following live ones."""
    return SeasonOut.of(seasons.create_season(uow, body.to_draft(), operator_id=operator.id))


@router.patch(
    "/seasons/{season_id}",
    response_model=SeasonOut,
    responses={404: problem_doc("No season"), **_LOCKED},
)
@audited("season.update", subject="season:{season_id}", state=states.season)
def update_season(
    season_id: IdPath, body: SeasonPatch, _: OperatorUser, uow: EngineUow
) -> SeasonOut:
    """Change a season's name, description, zone or dates (not once it has ended)."""
    return SeasonOut.of(seasons.update_season(uow, season_id, body.changes()))


@router.post(
    "/contests",
    status_code=status.HTTP_201_CREATED,
    response_model=ContestOut,
    responses={404: problem_doc("No season"), **_LOCKED},
)
@audited("contest.create", subject="contest:{result.id}")
def create_contest(
    body: ContestIn, _: OperatorUser, uow: EngineUow, limits: PrizeLimitsDep
) -> ContestOut:
    """Create a contest in a season: windows, eligibility, rules, ranking, prizes, draws, teams,
    PK and the prize disclosures."""
    return ContestOut.of(services.create_contest(uow, body.to_draft(), limits=limits))


@router.patch(
    "/contests/{contest_id}",
    response_model=ContestOut,
    responses={404: problem_doc("No contest"), **_LOCKED},
)
@audited("contest.update", subject="contest:{contest_id}", state=states.contest)
def update_contest(
    contest_id: IdPath,
    body: ContestPatch,
    _: OperatorUser,
    uow: EngineUow,
    limits: PrizeLimitsDep,
) -> ContestOut:
    """Change a contest; game fields are locked once trading starts."""
    return ContestOut.of(services.update_contest(uow, contest_id, body.changes(), limits=limits))


@router.get(
    "/contests/{contest_id}", response_model=ContestOut, responses={404: problem_doc("No contest")}
)
def get_contest(contest_id: IdPath, _: OperatorUser, uow: EngineUow) -> ContestOut:
    """A contest with its invite code."""
    return ContestOut.of(services.get_contest(uow, contest_id, operator=True))


@router.post(
    "/contests/{contest_id}/clock",
    response_model=ClockOut,
    responses={404: problem_doc("No contest"), 409: problem_doc("Season ended or settled")},
)
@audited("contest.advance_clock", subject="contest:{contest_id}", state=states.contest_clock)
def advance_clock(contest_id: IdPath, body: ClockIn, _: OperatorUser, uow: EngineUow) -> ClockOut:
    """Reveal the next ``bars`` trading days, none after ``until``: fills, marks,
    leaderboards and PK rounds."""
    return ClockOut.of(
        clock.advance_contest_clock(uow, contest_id, bars=body.bars, until=body.until)
    )
