"""What members read of the leaderboards: pages, around me, friends, my team, my percentile,
the team board and a member's history.

The live board is the snapshot of the contest's last tick (``clock_ticks``). Its ``Standings``
are built once per tick and process (``Standings.from_rows``; the clock hands over the ones it
ranked when its transaction commits) and cached by (database, contest, tick), so a rank or an
around-me lookup after a tick is a binary search; only the shown columns of the rows on a page
(names, equity, trades) come from the database. A page cursor is a position.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from core.errors import NotFound, RuleViolation
from core.pagination import MAX_LIMIT
from core.rule_codes import Rule
from core.users.model import Role, User
from engine.contests import entries
from engine.contests.metric_state import Game
from engine.contests.ranking import Placing, Standings
from engine.contests.standings_cache import TickKey, decode_standings, encode_standings
from engine.contests.store_standings import Detail
from engine.trading.store import ContestRow
from engine.trading.venue import NotEntered, require_contest
from engine.uow import EngineCaches, EngineUnitOfWork

Scope = Literal["friends", "team"]
MAX_AROUND = 50


class NotInTeam(NotFound):
    slug = "not-in-team"
    title = "Not in a team"


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    position: int  # place in the total order, 1 … n
    rank: int | None  # competition rank; None when unranked
    member_id: int
    display_name: str
    metric: Decimal | None
    total_return: Decimal | None
    equity: Decimal
    qualified: bool
    trades: int
    # Why an unranked row is unranked: ``one_account_per_person`` (another account of the same
    # person ranks), ``journal_notes`` (a filled order without a note, under
    # notes_required_for_ranking), ``not_qualified`` or ``no_metric``; None for a ranked row.
    unranked_reason: str | None = None


@dataclass(frozen=True, slots=True)
class MyPlace:
    position: int
    rank: int | None
    percentile: float | None  # (0, 100]; see ``Standings.percentile``


@dataclass(frozen=True, slots=True)
class Leaderboard:
    contest_id: int
    tick: int  # 0 before the first bar: the board is empty
    day: date | None
    entries: int  # rows on the whole board
    ranked: int
    rows: tuple[LeaderboardRow, ...]
    next_cursor: int | None  # a position; pass it back as ``cursor``
    me: MyPlace | None  # None when the viewer is not on the board


@dataclass(frozen=True, slots=True)
class TeamPlace:
    position: int
    rank: int | None
    team_id: int
    name: str
    score: Decimal | None
    members_counted: int


@dataclass(frozen=True, slots=True)
class TeamLeaderboard:
    contest_id: int
    tick: int
    day: date | None
    rows: tuple[TeamPlace, ...]
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    tick: int
    day: date
    position: int
    rank: int | None
    metric: Decimal | None


# --- inside an open transaction ---------------------------------------------------------------


def current(uow: EngineUnitOfWork, contest_id: int) -> Standings | None:
    """The standings of the contest's last tick, ``None`` before the first tick or when that
    tick had no entries. Usable inside an open transaction (it opens none); it reads the cache
    but fills it only from read transactions, which see committed ticks only."""
    contest = require_contest(uow, contest_id)
    return standings_of(uow, contest, remember=False)


def standings_of(uow: EngineUnitOfWork, contest: ContestRow, *, remember: bool) -> Standings | None:
    return standings_at(uow, contest.id, contest.clock_ticks, remember=remember)


def standings_at(
    uow: EngineUnitOfWork, contest_id: int, tick: int, *, remember: bool
) -> Standings | None:
    """The standings of the contest's committed tick ``tick`` (None for tick 0 or no
    snapshot): this process's cache, the shared cache's rank index, else the snapshot rows."""
    if tick <= 0:
        return None
    key = (uow.source(), contest_id, tick)
    found = uow.caches.standings.get(key)
    if found is not None:
        return found
    kept = uow.caches.pages.get_many(scope_of(key[0]), [index_key(key)])[1][0]
    if kept is not None:
        found = decode_standings(kept)
        uow.caches.standings.put(key, found)
        return found
    rows = uow.standings.placings(contest_id, tick)
    if not rows:
        return None
    found = Standings.from_rows(rows)
    if remember:
        keep_standings(uow.caches, key, found)
    return found


def index_key(key: TickKey) -> str:
    """The shared cache's key of a committed tick's standings (its rank index)."""
    source, contest_id, tick = key
    return f"lb:{source_tag(source)}:{contest_id}:{tick}:index"


def source_tag(source: str) -> str:
    """A short stable name of a database for shared cache keys."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def scope_of(source: str) -> str:
    """The page cache's revision scope of a database's boards (``board_pages``)."""
    return f"board:{source_tag(source)}"


def keep_standings(caches: EngineCaches, key: TickKey, standings: Standings) -> None:
    """Keep a committed tick's standings in this process and in the shared cache (the clock
    calls it after its commit; readers after reading a committed snapshot)."""
    caches.standings.put(key, standings)
    caches.pages.put_many([(index_key(key), encode_standings(standings))])


# --- read services ----------------------------------------------------------------------------


def leaderboard(
    uow: EngineUnitOfWork,
    contest_id: int,
    viewer_id: int,
    *,
    limit: int = 50,
    cursor: int | None = None,
    around: bool = False,
    k: int = 5,
    scope: Scope | None = None,
) -> Leaderboard:
    """A page of the contest's board as ``viewer_id`` sees it.

    ``scope`` narrows the board to the viewer and the members they follow (``friends``) or to
    the viewer's team (``team``); positions and ranks stay the global ones. ``around`` returns
    the viewer's row with up to ``k`` rows above and below (within the scope) instead of a page;
    otherwise rows follow position ``cursor`` (0 or None: from the top), ``limit`` at most.
    """
    check_paging(limit, cursor, k)
    with uow.reading():
        contest = require_contest(uow, contest_id)
        board = standings_of(uow, contest, remember=True) or Standings.from_rows([])
        if around and uow.trading.account(contest_id, viewer_id) is None:
            raise NotEntered("around=me needs your entry in this contest", contest_id=contest_id)
        members = _scope_members(uow, contest_id, viewer_id, scope)
        placings, following = _window(board, viewer_id, members, limit, cursor or 0, around, k)
        rows = rows_of(uow, contest, board, placings)
        return Leaderboard(
            contest_id=contest_id,
            tick=contest.clock_ticks,
            day=contest.clock_day,
            entries=len(board),
            ranked=board.ranked_count,
            rows=rows,
            next_cursor=following,
            me=my_place(board, viewer_id),
        )


def rows_of(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    board: Standings,
    placings: list[Placing],
    *,
    tick: int | None = None,
) -> tuple[LeaderboardRow, ...]:
    """The shown rows of these placings of the contest's last tick (or of ``tick``, the one
    ``board`` is of, when the row was read after a later one committed) inside the caller's
    read transaction: the snapshot's columns, today's display names and unranked reasons."""
    details = uow.standings.details(
        contest.id, contest.clock_ticks if tick is None else tick, [p.member_id for p in placings]
    )
    seconds = _second_accounts(uow, contest, board, placings)
    unnoted = (
        uow.trading.members_with_unnoted_fills(contest.id)
        if contest.notes_required_for_ranking
        and any(not details[p.member_id].qualified for p in placings)
        else set()
    )
    return tuple(_row(p, details[p.member_id], seconds=seconds, unnoted=unnoted) for p in placings)


def check_paging(limit: int, cursor: int | None, k: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise RuleViolation(f"limit must be 1 … {MAX_LIMIT}", field="limit", rule="range")
    if cursor is not None and cursor < 0:
        raise RuleViolation("cursor is a position ≥ 0", field="cursor", rule="range")
    if not 0 <= k <= MAX_AROUND:
        raise RuleViolation(f"k must be 0 … {MAX_AROUND}", field="k", rule="range")


def _scope_members(
    uow: EngineUnitOfWork, contest_id: int, viewer_id: int, scope: Scope | None
) -> list[int] | None:
    if scope is None:
        return None
    if scope == "friends":
        return [viewer_id, *uow.contests.followees(viewer_id)]
    if scope == "team":
        team = uow.contests.team_of(contest_id, viewer_id)
        if team is None:
            raise NotInTeam(
                "you are not in a team in this contest",
                contest_id=contest_id,
                field="scope",
                rule="not_in_team",
            )
        return uow.contests.team_members(team)
    raise RuleViolation(f"unknown scope {scope!r}", field="scope", rule="one_of")


def _window(
    board: Standings,
    viewer_id: int,
    members: list[int] | None,
    limit: int,
    after: int,
    around: bool,
    k: int,
) -> tuple[list[Placing], int | None]:
    """The rows to show and the cursor of the next page (None: no more, or around-me)."""
    if members is None:
        if around:
            return board.around(viewer_id, k), None
        page = board.top(limit, after_position=after)
        more = bool(page) and page[-1].position < len(board)
        return page, page[-1].position if more else None
    subset = board.subset(members)
    if around:
        mine = next((i for i, p in enumerate(subset) if p.member_id == viewer_id), None)
        if mine is None:
            return [], None
        return subset[max(mine - k, 0) : mine + k + 1], None
    start = bisect.bisect_right([p.position for p in subset], after)
    page = subset[start : start + limit]
    more = start + limit < len(subset)
    return page, page[-1].position if more else None


def _second_accounts(
    uow: EngineUnitOfWork, contest: ContestRow, board: Standings, placings: list[Placing]
) -> set[int]:
    """Unranked members of the page another account of whose person ranks (the rule
    ``one_account_per_person``), under the person links as they are now."""
    unranked = [p.member_id for p in placings if p.rank is None]
    if not unranked or not Game.of(contest).one_account_per_person:
        return set()
    linked = uow.integrity.linked_entrants(contest.id)
    persons = {linked[m] for m in unranked if m in linked}
    ranking_persons = {
        person
        for member, person in linked.items()
        if person in persons and board.rank_of(member) is not None
    }
    return {m for m in unranked if linked.get(m) in ranking_persons}


def _row(
    placing: Placing, detail: Detail, *, seconds: set[int], unnoted: set[int]
) -> LeaderboardRow:
    reason = None
    if placing.rank is None:
        if placing.member_id in seconds:
            reason = Rule.ONE_ACCOUNT_PER_PERSON.value
        elif not detail.qualified:
            reason = "journal_notes" if placing.member_id in unnoted else "not_qualified"
        else:
            reason = "no_metric"
    return LeaderboardRow(
        position=placing.position,
        rank=placing.rank,
        member_id=placing.member_id,
        display_name=detail.display_name,
        metric=detail.metric,
        total_return=detail.total_return,
        equity=detail.equity,
        qualified=detail.qualified,
        trades=detail.trades,
        unranked_reason=reason,
    )


def my_place(board: Standings, viewer_id: int) -> MyPlace | None:
    position = board.position_of(viewer_id)
    if position is None:
        return None
    return MyPlace(position, board.rank_of(viewer_id), board.percentile(viewer_id))


def team_leaderboard(
    uow: EngineUnitOfWork, contest_id: int, *, limit: int = 50, cursor: int | None = None
) -> TeamLeaderboard:
    """A page of the contest's team board (the snapshot of its last tick)."""
    check_paging(limit, cursor, 0)
    with uow.reading():
        contest = require_contest(uow, contest_id)
        if contest.team_settings is None:
            raise NotFound(f"contest {contest_id} has no teams", contest_id=contest_id)
        tick, day = contest.clock_ticks, contest.clock_day
        found = uow.standings.team_page(contest_id, tick, after=cursor or 0, limit=limit + 1)
    rows = tuple(TeamPlace(*row) for row in found[:limit])
    return TeamLeaderboard(
        contest_id=contest_id,
        tick=tick,
        day=day,
        rows=rows,
        next_cursor=rows[-1].position if len(found) > limit else None,
    )


def history(
    uow: EngineUnitOfWork, contest_id: int, member_id: int, *, viewer: User | None = None
) -> list[HistoryPoint]:
    """The member's place after every tick, oldest first (empty when never on the board).

    Read by ``viewer`` (``None``: a trusted caller), another member's history is ``NotFound``
    when that member does not exist or keeps it private (``User.rank_history_public``), the
    same answer for both so privacy leaks nothing; the member and operators always see it.
    """
    with uow.reading():
        require_contest(uow, contest_id)
        if viewer is not None and viewer.id != member_id:
            public = uow.standings.rank_history_public(member_id)
            if public is None or not (public or viewer.has_any(Role.OPERATOR)):
                raise NotFound(f"no rank history of member {member_id}", field="member_id")
        return [HistoryPoint(*row) for row in uow.standings.history(contest_id, member_id)]


@dataclass(frozen=True, slots=True)
class Followed:
    member_id: int
    display_name: str


def follow(uow: EngineUnitOfWork, follower_id: int, followee_id: int) -> tuple[Followed, bool]:
    """Follow a member (``engine.contests.entries.follow``); the member and whether the
    follow is new."""
    created = entries.follow(uow, follower_id, followee_id)
    with uow.reading():
        names = uow.standings.display_names([followee_id])
    return Followed(followee_id, names.get(followee_id, "")), created


def following(uow: EngineUnitOfWork, member_id: int) -> list[Followed]:
    """The members ``member_id`` follows, by id."""
    with uow.reading():
        ids = uow.contests.followees(member_id)
        names = uow.standings.display_names(ids)
    return [Followed(i, names.get(i, "")) for i in ids]
