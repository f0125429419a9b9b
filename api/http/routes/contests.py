"""Members browsing seasons and contests, and joining them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.http.deps import (
    CurrentUser,
    EngineUow,
    IdPath,
    InvitedContestId,
    PageParams,
    PrizeLimitsDep,
)
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.contests import (
    ContestOut,
    EntryOut,
    JoinIn,
    OfficialRulesOut,
    SeasonOut,
)
from core.pagination import decode_cursor, encode_cursor
from core.users.model import Role
from engine.contests import entries, seasons, services
from engine.contests.model import ContestState
from engine.contests.official_rules import Language, official_rules

router = APIRouter(tags=["contests"], responses={401: problem_doc("Not authenticated")})


def _next(following: int | None) -> str | None:
    return None if following is None else encode_cursor(following)


@router.get("/seasons", response_model=Page[SeasonOut])
def list_seasons(_: CurrentUser, uow: EngineUow, page: PageParams) -> Page[SeasonOut]:
    """Seasons, newest first; ended seasons stay listed (read-only)."""
    found, following = seasons.list_seasons(uow, after=decode_cursor(page.cursor), limit=page.limit)
    return Page(items=[SeasonOut.of(s) for s in found], next_cursor=_next(following))


@router.get(
    "/seasons/{season_id}", response_model=SeasonOut, responses={404: problem_doc("No season")}
)
def get_season(season_id: IdPath, _: CurrentUser, uow: EngineUow) -> SeasonOut:
    """One season."""
    return SeasonOut.of(seasons.get_season(uow, season_id))


@router.get("/contests", response_model=Page[ContestOut])
def list_contests(
    user: CurrentUser,
    uow: EngineUow,
    page: PageParams,
    season_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    state: Annotated[
        list[ContestState] | None, Query(description="Only these states (repeat for several)")
    ] = None,
) -> Page[ContestOut]:
    """Contests newest first, by season and state (upcoming, registration, waiting, running,
    finished, settled)."""
    contests, following = services.list_contests(
        uow,
        season_id=season_id,
        states=state or (),
        after=decode_cursor(page.cursor),
        limit=page.limit,
        operator=user.has_any(Role.OPERATOR),
        visible_to=None if user.has_any(Role.OPERATOR) else user.id,
    )
    return Page(items=[ContestOut.of(c) for c in contests], next_cursor=_next(following))


@router.get(
    "/contests/{contest_id}", response_model=ContestOut, responses={404: problem_doc("No contest")}
)
def get_contest(contest_id: InvitedContestId, user: CurrentUser, uow: EngineUow) -> ContestOut:
    """One contest with its rules, ranking, prizes, teams and PK settings (a private one for
    its entrants, or with its invite code as ``code``: the join page)."""
    return ContestOut.of(
        services.get_contest(uow, contest_id, operator=user.has_any(Role.OPERATOR))
    )


@router.get(
    "/contests/{contest_id}/official-rules",
    response_model=OfficialRulesOut,
    responses={
        200: {"content": {"text/markdown": {}}, "description": "JSON sections, or Markdown"},
        404: problem_doc("No contest"),
    },
)
def get_official_rules(
    contest_id: InvitedContestId,
    user: CurrentUser,
    uow: EngineUow,
    limits: PrizeLimitsDep,
    lang: Language = "zh-CN",
    format: Annotated[Literal["json", "markdown"], Query()] = "json",
) -> OfficialRulesOut | Response:
    """The contest's official rules (zh-CN or en): JSON sections, or Markdown."""
    contest = services.get_contest(uow, contest_id, operator=user.has_any(Role.OPERATOR))
    document = official_rules(contest, language=lang, limits=limits)
    if format == "markdown":
        return Response(document.to_markdown(), media_type="text/markdown; charset=utf-8")
    return OfficialRulesOut.of(document)


@router.post(
    "/contests/{contest_id}/entries",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryOut,
    responses={
        403: problem_doc("Below the minimum level (or an operator without the invite code)"),
        404: problem_doc("No contest, or a private one without its invite code"),
        409: problem_doc("Already joined, registration closed, or the contest is full"),
        422: problem_doc("A prized contest without its disclosures, or with an entry fee"),
    },
)
def join(contest_id: IdPath, body: JoinIn, user: CurrentUser, uow: EngineUow) -> EntryOut:
    """Join the contest with the starting cash (one entry per member)."""
    return EntryOut.of(
        entries.join_contest(
            uow,
            contest_id,
            user.id,
            invite_code=body.invite_code,
            operator=user.has_any(Role.OPERATOR),
        )
    )


@router.get("/me/contests", response_model=list[int])
def my_contests(user: CurrentUser, uow: EngineUow) -> list[int]:
    """Ids of the contests you have joined, newest first."""
    return entries.my_entries(uow, user.id)
