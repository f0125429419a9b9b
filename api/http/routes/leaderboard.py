"""Leaderboards (members and teams), a member's rank history, and follows (the friends board)."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.http.deps import (
    ContestIdPath,
    CurrentUser,
    CursorQuery,
    EngineUow,
    IdPath,
    LimitQuery,
    PageParams,
    VisibleContestId,
    engine_uow_of,
    kept_reader,
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
from core.errors import RuleViolation
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor
from core.users.model import Role
from engine.contests import board_pages, entries, visibility
from engine.contests import leaderboard as boards
from engine.uow import EngineUnitOfWork

router = APIRouter(tags=["leaderboards"], responses={401: problem_doc("Not authenticated")})
follows_router = APIRouter(
    prefix="/me/follows", tags=["follows"], responses={401: problem_doc("Not authenticated")}
)
MemberQuery = Annotated[
    int | None, Query(ge=1, le=2_147_483_647, description="A member id; you when absent")
]


async def leaderboard(
    request: Request,
    contest_id: ContestIdPath,
    user: CurrentUser,
    around: Annotated[
        Literal["me"] | None, Query(description="`me`: your row with `k` rows above and below")
    ] = None,
    k: Annotated[int, Query(ge=0, le=boards.MAX_AROUND)] = 5,
    scope: Annotated[
        Literal["friends", "team"] | None,
        Query(description="Only you and the members you follow, or your team"),
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,  # last, where the page parameters always were
    cursor: CursorQuery = None,
) -> Response:
    """The contest's leaderboard after the last tick: a page, or the rows around you; ranks are
    competition ranks, unqualified entries are listed unranked after the ranked ones."""
    # A board this process keeps whole (head, standings, rows) is answered here on the event
    # loop; anything else is read in the thread pool. The parameters are the route's own, not
    # a dependency's: each dependency solved costs about as much as the kept page itself.
    operator = user.has_any(Role.OPERATOR)
    position = decode_cursor(cursor)
    if scope is None:
        kept = board_pages.kept_board_page(
            request.app.state.engine_caches,
            contest_id,
            user.id,
            operator=operator,
            limit=limit,
            cursor=position,
            around=around == "me",
            k=k,
        )
        if kept is not None:
            return Response(board_page_json(kept), media_type="application/json")
    return await run_in_threadpool(
        _read_leaderboard,
        engine_uow_of(request),
        contest_id,
        user.id,
        operator=operator,
        limit=limit,
        cursor=position,
        around=around == "me",
        k=k,
        scope=scope,
    )


class KeptBoardRoute(APIRoute):
    """``leaderboard`` with a fast path in front of FastAPI's handling of the request: a plain
    ask (the whole board, every parameter well formed and in range, nothing else in the query)
    from a user the principal cache keeps, for a board this process keeps whole, is answered
    with no dependency solved and no parameter validated through pydantic (together several
    times the cost of the kept page itself). Anything else, a bad parameter included, is
    handled as declared: validated (422 problem+json), authenticated, read in the pool."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return _kept_leaderboard(request) or await declared(request)

        return handler


def _kept_leaderboard(request: Request) -> Response | None:
    """The response ``leaderboard`` would give, if this process can give it at once."""
    ask = _plain_ask(request.path_params.get("contest_id"), request.scope["query_string"])
    user = None if ask is None else kept_reader(request)
    if ask is None or user is None:
        return None
    contest_id, limit, cursor, around, k = ask
    try:
        kept = board_pages.kept_board_page(
            request.app.state.engine_caches,
            contest_id,
            user.id,
            operator=user.has_any(Role.OPERATOR),
            limit=limit,
            cursor=decode_cursor(cursor),
            around=around,
            k=k,
        )
    except RuleViolation:  # the declared path says so, naming the parameter
        return None
    return None if kept is None else Response(board_page_json(kept), media_type="application/json")


_PLAIN = re.compile(rb"(limit|k)=([0-9]{1,4})|around=me|cursor=([A-Za-z0-9_-]{1,512})")
_MAX_ID = 2_147_483_647


def _plain_ask(contest_id: object, query: bytes) -> tuple[int, int, str | None, bool, int] | None:
    """(contest id, limit, cursor, around, k) of a query the declared parameters would accept
    as they are, each at most once; ``None`` for anything else (``scope``, an unknown or
    repeated name, an escape, a value out of range), which the declared path handles."""
    if not isinstance(contest_id, str) or not (contest_id.isascii() and contest_id.isdigit()):
        return None
    asked: dict[bytes, bytes] = {}
    for item in query.split(b"&") if query else ():
        found = _PLAIN.fullmatch(item)
        name = item.partition(b"=")[0]
        if found is None or name in asked:
            return None
        asked[name] = item.partition(b"=")[2]
    number = int(contest_id) if len(contest_id) <= 10 else 0  # longer: out of range
    limit = int(asked.get(b"limit", DEFAULT_LIMIT))
    k = int(asked.get(b"k", 5))
    if not (1 <= number <= _MAX_ID and 1 <= limit <= MAX_LIMIT and k <= boards.MAX_AROUND):
        return None
    cursor = asked.get(b"cursor")
    return number, limit, None if cursor is None else cursor.decode(), b"around" in asked, k


router.add_api_route(
    "/contests/{contest_id}/leaderboard",
    leaderboard,
    methods=["GET"],
    response_model=LeaderboardOut,
    responses={
        404: problem_doc(
            "No contest; around=me without an entry (not-entered); scope=team outside a team"
        )
    },
    route_class_override=KeptBoardRoute,
)


def _read_leaderboard(
    uow: EngineUnitOfWork,
    contest_id: int,
    viewer_id: int,
    *,
    operator: bool,
    limit: int,
    cursor: int | None,
    around: bool,
    k: int,
    scope: boards.Scope | None,
) -> Response:
    if scope is None:  # the whole board: rows serialized once per tick, kept in the page cache
        found = board_pages.board_page(
            uow,
            contest_id,
            viewer_id,
            operator=operator,
            encode=encode_row,
            limit=limit,
            cursor=cursor,
            around=around,
            k=k,
        )
        return Response(board_page_json(found), media_type="application/json")
    visibility.check_visible(uow, contest_id, viewer_id, operator=operator)
    board = boards.leaderboard(
        uow, contest_id, viewer_id, limit=limit, cursor=cursor, around=around, k=k, scope=scope
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
