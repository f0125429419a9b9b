"""Teams in a contest: a member creates one (and captains it), others join with its invite code.

Rules: the contest has team settings; a member needs an entry in the contest and is in at most
one team of it; names are unique per contest; a team holds at most ``max_size`` members; teams
are fixed once the clock has revealed the first bar (the PK rounds pair them from then on).
When the captain leaves, the longest-standing member takes over; the last member out deletes
the team. Every refusal is a 4xx naming its rule and writes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from core.clock import utc_now
from core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from core.rule_codes import Rule
from engine.contests.spec import TeamSettings
from engine.contests.store import TeamRow
from engine.contests.visibility import may_see
from engine.trading.store import ContestRow
from engine.trading.venue import NotEntered, require_contest
from engine.uow import EngineUnitOfWork

NAME_MAX = 64


class TeamRefused(Conflict):
    slug = "team-refused"
    title = "Team change refused"


@dataclass(frozen=True, slots=True)
class TeamMember:
    member_id: int
    username: str
    display_name: str
    joined_at: datetime
    captain: bool


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    contest_id: int
    name: str
    captain_id: int
    members: tuple[TeamMember, ...]
    max_size: int
    created_at: datetime
    invite_code: str | None  # shown to the team's members only

    @property
    def size(self) -> int:
        return len(self.members)


def create_team(
    uow: EngineUnitOfWork,
    contest_id: int,
    member_id: int,
    name: str,
    *,
    now: datetime | None = None,
) -> Team:
    """A new team captained by ``member_id``, who must have entered the contest."""
    moment = now or utc_now()
    name = _checked_name(name)
    with uow:
        settings = _open_contest(uow, contest_id)
        _require_entry(uow, contest_id, member_id)
        _refuse_if_in_team(uow, contest_id, member_id)
        if uow.contests.team_named(contest_id, name) is not None:
            raise _name_taken(name)
        team = TeamRow(
            contest_id=contest_id,
            name=name,
            captain_id=member_id,
            invite_code=secrets.token_urlsafe(12),
            created_at=moment,
        )
        if not uow.teams.add_team(team):  # lost a race for the name
            raise _name_taken(name)
        if not uow.teams.add_member(contest_id, team.id, member_id, moment):
            raise _already_in_team()
        view = _view(uow, team, settings, viewer_id=member_id)
        uow.commit()
    return view


def join_team(
    uow: EngineUnitOfWork,
    team_id: int,
    member_id: int,
    invite_code: str,
    *,
    now: datetime | None = None,
) -> Team:
    """Join the team with its invite code, if it has room (checked under the team's row lock,
    so concurrent joiners never overfill it)."""
    moment = now or utc_now()
    with uow:
        found = uow.contests.team(team_id)
        contest = None if found is None else uow.trading.contest(found.contest_id)
        if found is None or contest is None or not may_see(uow, contest, member_id):
            raise NotFound(f"no team {team_id}", team_id=team_id)
        settings = _open_contest(uow, found.contest_id)
        team = uow.contests.team(team_id, lock=True)
        if team is None:  # deleted by its last member meanwhile
            raise NotFound(f"no team {team_id}", team_id=team_id)
        if not secrets.compare_digest(invite_code.encode(), team.invite_code.encode()):
            raise PermissionDenied(
                "a valid invite code is required to join this team",
                field="invite_code",
                rule=Rule.INVITE_CODE,
            )
        _require_entry(uow, team.contest_id, member_id)
        _refuse_if_in_team(uow, team.contest_id, member_id)
        size = uow.teams.member_count(team_id)
        if size >= settings.max_size:
            raise TeamRefused(
                f"team {team.name!r} is full ({settings.max_size} members)",
                field="team_id",
                rule=Rule.TEAM_FULL,
            )
        if not uow.teams.add_member(team.contest_id, team_id, member_id, moment):
            raise _already_in_team()
        view = _view(uow, team, settings, viewer_id=member_id)
        uow.commit()
    return view


def leave_team(uow: EngineUnitOfWork, team_id: int, member_id: int) -> Team | None:
    """Leave the team; returns it as it is now, or None when the last member left (deleted)."""
    with uow:
        found = uow.contests.team(team_id)
        contest = None if found is None else uow.trading.contest(found.contest_id)
        if found is None or contest is None or not may_see(uow, contest, member_id):
            raise NotFound(f"no team {team_id}", team_id=team_id)
        settings = _open_contest(uow, found.contest_id)
        team = uow.contests.team(team_id, lock=True)
        if team is None or uow.contests.team_of(team.contest_id, member_id) != team_id:
            raise NotFound(
                f"you are not in team {team_id}",
                team_id=team_id,
                field="team_id",
                rule=Rule.NOT_IN_TEAM,
            )
        uow.teams.remove_member(team.contest_id, member_id)
        remaining = uow.contests.team_members(team_id)  # joining order
        view: Team | None = None
        if not remaining:
            uow.teams.delete_team(team_id)
        else:
            if team.captain_id == member_id:
                team.captain_id = remaining[0]
            view = _view(uow, team, settings, viewer_id=member_id)
        uow.commit()
    return view


def team(
    uow: EngineUnitOfWork,
    team_id: int,
    *,
    viewer_id: int | None = None,
    operator: bool = False,
) -> Team:
    """One team; its invite code only when ``viewer_id`` is a member. A private contest's
    teams are for those who may see the contest (``may_see``); others get ``NotFound``."""
    with uow.reading():
        row = uow.contests.team(team_id)
        contest = None if row is None else uow.trading.contest(row.contest_id)
        if (
            row is None
            or contest is None
            or not may_see(uow, contest, viewer_id, operator=operator)
        ):
            raise NotFound(f"no team {team_id}", team_id=team_id)
        return _view(uow, row, _settings(contest), viewer_id=viewer_id)


def teams_of_contest(
    uow: EngineUnitOfWork,
    contest_id: int,
    *,
    viewer_id: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[Team], int | None]:
    """The contest's teams, oldest first, with the cursor of the next page."""
    with uow.reading():
        contest = require_contest(uow, contest_id, seasonal=True)
        settings = _settings(contest)
        rows, following = uow.teams.teams_page(contest_id, after=after, limit=limit)
        members = uow.teams.members_of([r.id for r in rows])
        views = [_team_of(row, members[row.id], settings, viewer_id=viewer_id) for row in rows]
    return views, following


# --- helpers ----------------------------------------------------------------------------------


def _checked_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise RuleViolation("a team needs a name", field="name", rule=Rule.NON_EMPTY)
    if len(cleaned) > NAME_MAX:
        raise RuleViolation(
            f"a team name has at most {NAME_MAX} characters", field="name", rule=Rule.MAX_LENGTH
        )
    return cleaned


def _open_contest(uow: EngineUnitOfWork, contest_id: int) -> TeamSettings:
    """The team settings of a contest whose teams may still change; the contest stays
    share-locked against the clock until the caller's transaction ends."""
    row = uow.teams.contest_shared(contest_id)
    if row is None or row.season_id is None:
        raise NotFound(f"no contest {contest_id}", contest_id=contest_id)
    settings = _settings(row)
    if row.clock_day is not None:
        raise TeamRefused(
            f"teams are fixed: trading started on {row.trading_start}",
            field="contest_id",
            rule=Rule.TEAMS_FIXED,
        )
    return settings


def _settings(contest: ContestRow) -> TeamSettings:
    settings = TeamSettings.from_json(contest.team_settings)
    if settings is None:
        raise RuleViolation(
            f"contest {contest.id} has no teams", field="contest_id", rule=Rule.NO_TEAMS
        )
    return settings


def _require_entry(uow: EngineUnitOfWork, contest_id: int, member_id: int) -> None:
    if uow.trading.account(contest_id, member_id) is None:
        raise NotEntered(
            f"join contest {contest_id} before joining a team",
            contest_id=contest_id,
            field="contest_id",
            rule=Rule.NOT_ENTERED,
        )


def _refuse_if_in_team(uow: EngineUnitOfWork, contest_id: int, member_id: int) -> None:
    if uow.contests.team_of(contest_id, member_id) is not None:
        raise _already_in_team()


def _already_in_team() -> TeamRefused:
    return TeamRefused(
        "you are already in a team in this contest", field="member_id", rule=Rule.ALREADY_IN_TEAM
    )


def _name_taken(name: str) -> TeamRefused:
    return TeamRefused(f"a team is already named {name!r}", field="name", rule=Rule.TEAM_NAME_TAKEN)


def _view(
    uow: EngineUnitOfWork, row: TeamRow, settings: TeamSettings, *, viewer_id: int | None
) -> Team:
    members = uow.teams.members_of([row.id])[row.id]
    return _team_of(row, members, settings, viewer_id=viewer_id)


def _team_of(
    row: TeamRow,
    members: list[tuple[int, str, str, datetime]],
    settings: TeamSettings,
    *,
    viewer_id: int | None,
) -> Team:
    is_member = viewer_id is not None and any(m[0] == viewer_id for m in members)
    return Team(
        id=row.id,
        contest_id=row.contest_id,
        name=row.name,
        captain_id=row.captain_id,
        members=tuple(
            TeamMember(member_id, username, shown, joined_at, member_id == row.captain_id)
            for member_id, username, shown, joined_at in members
        ),
        max_size=settings.max_size,
        created_at=row.created_at,
        invite_code=row.invite_code if is_member else None,
    )
