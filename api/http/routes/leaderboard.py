"""Leaderboards (members and teams), a member's rank history, and follows (the friends board)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api.http.deps import (
    ContestIdPath,
    CurrentUser,
    EngineUow,
    IdPath,
    PageParams,
    VisibleContestId,
)
from api.http.problems import problem_doc
from api.http.schemas.leaderboard import (
    FollowOut,
    HistoryPointOut,
    LeaderboardOut,
    TeamLeaderboardOut,
    board_page_json,
    encode_row,
)
from core.pagination import decode_cursor
from core.users.model import Role
from engine.contests import board_pages, entries, visibility
from engine.contests import leaderboard as boards

router = APIRouter(tags=["leaderboards"], responses={401: problem_doc("Not authenticated")})
follows_router = APIRouter(
    prefix="/me/follows", tags=["follows"], responses={401: problem_doc("Not authenticated")}
)
MemberQuery = Annotated[
    int | None, Query(ge=1, le=2_147_483_647, description="A member id; you when absent")
]


@router.get(
    "/contests/{contest_id}/leaderboard",
    response_model=LeaderboardOut,
    responses={
        404: problem_doc(
            "No contest; around=me without an entry (not-entered); scope=team outside a team"
        )
    },
)
def leaderboard(
    contest_id: ContestIdPath,
    user: CurrentUser,
    uow: EngineUow,
    page: PageParams,
    around: Annotated[
        Literal["me"] | None, Query(description="`me`: your row with `k` rows above and below")
    ] = None,
    k: Annotated[int, Query(ge=0, le=boards.MAX_AROUND)] = 5,
    scope: Annotated[
        Literal["friends", "team"] | None,
        Query(description="Only you and the members you follow, or your team"),
    ] = None,
) -> Response:
    """The contest's leaderboard after the last tick: a page, or the rows around you; ranks are
    competition ranks, unqualified entries are listed unranked after the ranked ones."""
    operator = user.has_any(Role.OPERATOR)
    cursor = decode_cursor(page.cursor)
    if scope is None:  # the whole board: rows serialized once per tick, kept in the page cache
        found = board_pages.board_page(
            uow,
            contest_id,
            user.id,
            operator=operator,
            encode=encode_row,
            limit=page.limit,
            cursor=cursor,
            around=around == "me",
            k=k,
        )
        return Response(board_page_json(found), media_type="application/json")
    visibility.check_visible(uow, contest_id, user.id, operator=operator)
    board = boards.leaderboard(
        uow,
        contest_id,
        user.id,
        limit=page.limit,
        cursor=cursor,
        around=around == "me",
        k=k,
        scope=scope,
    )
    return Response(LeaderboardOut.of(board).model_dump_json(), media_type="application/json")


@router.get(
    "/contests/{contest_id}/leaderboard/history",
    response_model=list[HistoryPointOut],
    responses={404: problem_doc("No contest, or no such member or a private history")},
)
def history(
    contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow, member_id: MemberQuery = None
) -> list[HistoryPointOut]:
    """A member's position, rank and metric after every tick, oldest first (for a chart)."""
    found = boards.history(uow, contest_id, member_id or user.id, viewer=user)
    return [HistoryPointOut.of(point) for point in found]


@router.get(
    "/contests/{contest_id}/teams/leaderboard",
    response_model=TeamLeaderboardOut,
    responses={404: problem_doc("No contest, or a contest without teams")},
)
def team_leaderboard(
    contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow, page: PageParams
) -> TeamLeaderboardOut:
    """The team leaderboard after the last tick (team score: mean, median or top-N mean of the
    members' metric)."""
    return TeamLeaderboardOut.of(
        boards.team_leaderboard(
            uow, contest_id, limit=page.limit, cursor=decode_cursor(page.cursor)
        )
    )


@follows_router.post(
    "/{member_id}",
    status_code=status.HTTP_201_CREATED,
    response_model=FollowOut,
    responses={
        200: {"description": "Already followed", "model": FollowOut},
        404: problem_doc("No such member"),
        422: problem_doc("Following yourself"),
    },
)
def follow(member_id: IdPath, user: CurrentUser, uow: EngineUow, response: Response) -> FollowOut:
    """Follow a member (their rows show on your friends leaderboard); 200 when already followed."""
    followed, created = boards.follow(uow, user.id, member_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return FollowOut.of(followed)


@follows_router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
def unfollow(member_id: IdPath, user: CurrentUser, uow: EngineUow) -> None:
    """Stop following a member (nothing happens when you did not)."""
    entries.unfollow(uow, user.id, member_id)


@follows_router.get("", response_model=list[FollowOut])
def following(user: CurrentUser, uow: EngineUow) -> list[FollowOut]:
    """The members you follow."""
    return [FollowOut.of(f) for f in boards.following(uow, user.id)]
