"""Members forming teams in a contest, and the contest's PK rounds."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.http.deps import CurrentUser, EngineUow, IdPath, PageParams, VisibleContestId
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.teams import JoinTeamIn, PkOut, TeamIn, TeamOut
from core.pagination import decode_cursor, encode_cursor
from core.users.model import Role
from engine.contests import pk_rounds, teams

router = APIRouter(tags=["teams"], responses={401: problem_doc("Not authenticated")})


@router.post(
    "/contests/{contest_id}/teams",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamOut,
    responses={
        404: problem_doc("No contest, or you have not joined it (`not-entered`)"),
        409: problem_doc("Already in a team, the name is taken, or teams are fixed"),
        422: problem_doc("The contest has no teams (`no-teams`) or the name is empty"),
    },
)
def create_team(
    contest_id: VisibleContestId, body: TeamIn, user: CurrentUser, uow: EngineUow
) -> TeamOut:
    """Create a team in a contest you have joined; you become its captain."""
    return TeamOut.of(teams.create_team(uow, contest_id, user.id, body.name))


@router.get(
    "/contests/{contest_id}/teams",
    response_model=Page[TeamOut],
    responses={404: problem_doc("No contest")},
)
def list_teams(
    contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow, page: PageParams
) -> Page[TeamOut]:
    """The contest's teams, oldest first (invite codes only on your own team)."""
    found, following = teams.teams_of_contest(
        uow, contest_id, viewer_id=user.id, after=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[TeamOut.of(t) for t in found],
        next_cursor=None if following is None else encode_cursor(following),
    )


@router.get("/teams/{team_id}", response_model=TeamOut, responses={404: problem_doc("No team")})
def get_team(team_id: IdPath, user: CurrentUser, uow: EngineUow) -> TeamOut:
    """One team with its members (the invite code only if you are one of them)."""
    return TeamOut.of(
        teams.team(uow, team_id, viewer_id=user.id, operator=user.has_any(Role.OPERATOR))
    )


@router.post(
    "/teams/{team_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamOut,
    responses={
        403: problem_doc("Wrong invite code (`invite-code`)"),
        404: problem_doc("No team, or you have not joined its contest (`not-entered`)"),
        409: problem_doc("The team is full, you are already in a team, or teams are fixed"),
    },
)
def join_team(team_id: IdPath, body: JoinTeamIn, user: CurrentUser, uow: EngineUow) -> TeamOut:
    """Join a team with its invite code, while it has room and trading has not started."""
    return TeamOut.of(teams.join_team(uow, team_id, user.id, body.invite_code))


@router.delete(
    "/teams/{team_id}/members/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        404: problem_doc("You are not in this team"),
        409: problem_doc("Teams are fixed (`teams-fixed`)"),
    },
)
def leave_team(team_id: IdPath, user: CurrentUser, uow: EngineUow) -> Response:
    """Leave your team before trading starts (the next member captains; the last deletes it)."""
    teams.leave_team(uow, team_id, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/contests/{contest_id}/pk",
    response_model=PkOut,
    responses={
        404: problem_doc("No contest"),
        422: problem_doc("The contest has no PK rounds (`no-pk`)"),
    },
)
def pk(contest_id: VisibleContestId, _: CurrentUser, uow: EngineUow) -> PkOut:
    """PK rounds (ticks, days), pairings and results, and the standings (3/1/0, then rating)."""
    return PkOut.of(pk_rounds.pk_overview(uow, contest_id))
