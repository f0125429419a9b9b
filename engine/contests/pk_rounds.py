"""Team PK rounds on the contest clock: pair, judge, rate; round awards after commit.

A round lasts ``PkSettings.round_bars`` ticks (L): round r covers ticks (r-1)L+1 … rL. When
trading starts (the first tick) the teams are fixed, rated at the openskill prior and round 1 is
paired; at tick rL, or at the contest's last day for a short final round, the round is judged
and, unless the contest is over, the next one paired
(``engine.contests.pk_pairing.swiss_pairings``).

A team's return over a round is its members' returns over the round aggregated as the team
score is (mean, median or top-N mean, ``engine.contests.team_scores``); a member's return is
equity at the round's last close over equity at the close before it began, minus one (round 1
starts from the starting cash). Returns are rounded to 12 places, then judged, so the stored
value is exactly the judged one. With fewer than two teams no rounds are played.

Round awards (``PkSettings.win``/``draw`` for every member of a team that won or drew a match;
a bye earns standings points, not awards) are flagged on the board when it is judged and paid
by ``pay_round_awards`` after the clock commits, one ledger transaction per member under the
deterministic id ``pk:{contest}:{round}:{team}:{member}``, so a rerun pays nothing twice.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from core.errors import RuleViolation
from core.outbox import PK_RESULT
from core.outbox_store import record_event
from engine.contests import live_feed
from engine.contests.pk import (
    Outcome,
    Pairing,
    PkResult,
    Standing,
    history_of,
    judge,
    new_rating,
    standings,
    update_ratings,
)
from engine.contests.pk_pairing import swiss_pairings
from engine.contests.spec import PkSettings, TeamSettings
from engine.contests.store import PkMatchRow, PkRoundRow
from engine.contests.team_scores import team_scores
from engine.trading.store import ContestRow, EntryAccount
from engine.trading.venue import require_contest
from ledger import engagement
from ledger.earning import Award

if TYPE_CHECKING:
    from engine.uow import EngineUnitOfWork

RETURN_PLACES = Decimal("1e-12")


# --- on the clock -----------------------------------------------------------------------------


def on_tick(uow: EngineUnitOfWork, contest: ContestRow, day: date) -> None:
    """Inside the clock's open transaction, after the tick's marks (``contest.clock_ticks``
    already counts this tick): start PK at the first tick, judge a round at its last."""
    teams = TeamSettings.from_json(contest.team_settings)
    pk = PkSettings.from_json(contest.pk_settings)
    if teams is None or pk is None:
        return
    if contest.clock_ticks == 1:
        _start(uow, contest, pk)
    current = uow.pk.open_round(contest.id)
    if current is None:
        return
    over = day >= contest.trading_end
    if contest.clock_ticks < current.end_tick and not over:
        return
    _judge(uow, contest, current, day, teams, pk)
    if not over:
        _pair(uow, contest, current.round_no + 1, pk, start_tick=contest.clock_ticks, start_day=day)


def _start(uow: EngineUnitOfWork, contest: ContestRow, pk: PkSettings) -> None:
    """Rate the (now fixed) teams at the prior and pair round 1 from the starting cash."""
    team_ids = [t.id for t in uow.contests.teams(contest.id)]
    if len(team_ids) < 2:
        return
    uow.pk.save_ratings(contest.id, [new_rating(t) for t in team_ids])
    _pair(uow, contest, 1, pk, start_tick=0, start_day=None)


def _pair(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    round_no: int,
    pk: PkSettings,
    *,
    start_tick: int,
    start_day: date | None,
) -> None:
    ratings = uow.pk.ratings(contest.id)
    history, byes_had = history_of(uow.pk.pairings(contest.id))
    days = uow.market.trading_days(contest.universe, contest.trading_start, contest.trading_end)
    rounds_total = max(round_no, math.ceil(len(days) / pk.round_bars))
    pairings = swiss_pairings(
        round_no, list(ratings.values()), history, byes_had, rounds_total=rounds_total
    )
    uow.pk.add_round(
        PkRoundRow(
            contest_id=contest.id,
            round_no=round_no,
            start_tick=start_tick,
            end_tick=start_tick + pk.round_bars,  # the last day may cut it short
            start_day=start_day,
            end_day=None,
            judged=False,
        ),
        [
            PkMatchRow(
                contest_id=contest.id,
                round_no=round_no,
                board=board,
                team_a=p.team_a,
                team_b=p.team_b,
                awards_pending=False,
            )
            for board, p in enumerate(pairings, start=1)
        ],
    )


def _judge(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    current: PkRoundRow,
    day: date,
    teams: TeamSettings,
    pk: PkSettings,
) -> None:
    returns = round_returns(
        accounts=uow.trading.account_books(contest.id),
        team_of_member=uow.contests.memberships(contest.id),
        start=None
        if current.start_day is None
        else uow.pk.equity_on(contest.id, current.start_day),
        end=uow.pk.equity_on(contest.id, day),
        teams=teams,
    )
    boards = uow.pk.matches(contest.id, current.round_no)
    results = []
    for board in boards:
        pairing = _pairing(board)
        b_return = None if board.team_b is None else returns.get(board.team_b, Decimal(0))
        result = judge(
            pairing, returns.get(board.team_a, Decimal(0)), b_return, draw_band=pk.draw_band
        )
        board.a_return, board.b_return = result.a_return, result.b_return
        board.outcome = result.outcome.value
        board.awards_pending = bool(_award_of(result.outcome, pk))
        results.append(result)
        _record_result(uow, contest.id, board, day)
    ratings = update_ratings(uow.pk.ratings(contest.id), results)
    uow.pk.save_ratings(contest.id, ratings.values())
    current.judged = True
    current.end_tick = contest.clock_ticks
    current.end_day = day


def _record_result(uow: EngineUnitOfWork, contest_id: int, board: PkMatchRow, day: date) -> None:
    """The ``pk.result`` outbox event of a judged board and its broadcast to the two teams'
    members' live streams (in the clock's transaction)."""
    result = {
        "contest_id": contest_id,
        "round_no": board.round_no,
        "board": board.board,
        "team_a": board.team_a,
        "team_b": board.team_b,
        "a_return": None if board.a_return is None else str(board.a_return),
        "b_return": None if board.b_return is None else str(board.b_return),
        "outcome": board.outcome,
        "day": day.isoformat(),
    }
    record_event(uow.session, PK_RESULT, result, f"pk.result:{board.id}")
    live_feed.broadcast_pk_result(uow, contest_id, result)


def round_returns(
    *,
    accounts: Sequence[EntryAccount],
    team_of_member: Mapping[int, int],
    start: Mapping[int, Decimal] | None,
    end: Mapping[int, Decimal],
    teams: TeamSettings,
) -> dict[int, Decimal]:
    """team id → the team's return over a round (a fraction, rounded to 12 places).

    ``start``/``end`` map account ids to equity at the closes bounding the round; ``start`` is
    None for round 1: each account's starting cash is the base, as it is for a member with no
    mark before the round (no trading yet). A member without a mark at the end is left out; a
    team with no member left scores 0.
    """
    members, metric = [], []
    for account in accounts:
        team_id = team_of_member.get(account.member_id)
        final = end.get(account.id)
        base = account.starting_cash if start is None else start.get(account.id)
        base = account.starting_cash if base is None else base
        if team_id is None or final is None or not base:
            continue
        members.append(team_id)
        metric.append(float(final / base - 1))
    if not members:
        return {}
    scores = team_scores(
        np.array(metric, dtype=np.float64),
        np.array(members, dtype=np.int64),
        how=teams.score,
        n=teams.top_n,
    )
    return {
        int(team_id): _rounded(float(score))
        for team_id, score in zip(scores.team_ids.tolist(), scores.score.tolist(), strict=True)
    }


def _rounded(value: float) -> Decimal:
    if not math.isfinite(value):
        return Decimal(0)
    return Decimal(repr(value)).quantize(RETURN_PLACES)


def _award_of(outcome: Outcome, pk: PkSettings) -> Award | None:
    if outcome is Outcome.DRAW:
        award = pk.draw
    elif outcome in (Outcome.WIN_A, Outcome.WIN_B):
        award = pk.win
    else:
        return None
    return award if award.points or award.xp else None


def _pairing(board: PkMatchRow) -> Pairing:
    return Pairing(board.round_no, board.team_a, board.team_b)


def _result(board: PkMatchRow) -> PkResult | None:
    if board.outcome is None:
        return None
    return PkResult(_pairing(board), board.a_return, board.b_return, Outcome(board.outcome))


# --- round awards (after the clock commits) ---------------------------------------------------


def pay_round_awards(uow: EngineUnitOfWork, contest_id: int, *, now: datetime | None = None) -> int:
    """Pay every member of each team that won or drew a flagged board its round award, then
    clear the boards' flags. A round's wins, and its draws, go to the ledger as one
    transaction each (``engagement.award_many``), idempotent as a whole: a round's boards are
    flagged together when it is judged and cleared together here, so a rerun after a crash
    meets the same groups and replays what was paid. Killed half-way and rerun, it pays every
    award exactly once. Returns awards paid or confirmed this call. ``now`` stamps the awards
    (default: the wall clock)."""
    with uow.reading():
        boards = sorted(
            (
                _Flagged(b.id, b.round_no, b.board, Outcome(b.outcome), _award_teams(b))
                for b in uow.pk.pending_matches(contest_id)
                if b.outcome is not None
            ),
            key=lambda b: (b.round_no, b.board),
        )
        if not boards:
            return 0
        contest = uow.trading.contest(contest_id)
        pk = None if contest is None else PkSettings.from_json(contest.pk_settings)
        rosters = uow.teams.members_of(sorted({t for board in boards for t in board.teams}))
        members = {team: [m[0] for m in roster] for team, roster in rosters.items()}
    if pk is None:
        return 0
    by_round: dict[int, list[_Flagged]] = defaultdict(list)
    for board in boards:
        by_round[board.round_no].append(board)
    paid = 0
    for round_no, round_boards in sorted(by_round.items()):
        for kind, outcomes in (("win", (Outcome.WIN_A, Outcome.WIN_B)), ("draw", (Outcome.DRAW,))):
            award = pk.draw if kind == "draw" else pk.win
            grants = [
                (member_id, award, f"pk:{contest_id}:{round_no}:{team_id}:{member_id}")
                for board in round_boards
                if board.outcome in outcomes
                for team_id in board.teams
                for member_id in members[team_id]
            ]
            if grants and (award.points or award.xp):
                engagement.award_many(
                    uow,
                    grants,
                    reason=f"PK round {round_no} {kind}",
                    reference=f"contest:{contest_id}",
                    now=now,
                )
                paid += len(grants)
        with uow:
            uow.pk.clear_awards_pending([board.match_id for board in round_boards])
            uow.commit()
    return paid


@dataclass(frozen=True, slots=True)
class _Flagged:
    """A judged board whose round awards are still to be paid."""

    match_id: int
    round_no: int
    board: int
    outcome: Outcome
    teams: list[int]  # the teams its outcome rewards


def _award_teams(board: PkMatchRow) -> list[int]:
    if board.outcome == Outcome.WIN_A.value:
        return [board.team_a]
    if board.outcome == Outcome.WIN_B.value and board.team_b is not None:
        return [board.team_b]
    if board.outcome == Outcome.DRAW.value and board.team_b is not None:
        return [board.team_a, board.team_b]
    return []


# --- what members see ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PkBoard:
    board: int
    team_a: int
    team_b: int | None  # None: a bye for team_a
    a_return: Decimal | None
    b_return: Decimal | None
    outcome: Outcome | None  # None until the round is judged


@dataclass(frozen=True, slots=True)
class PkRound:
    round_no: int
    first_tick: int
    last_tick: int  # planned until judged; the contest's last day may cut the final round short
    start_day: date | None  # the close the round's returns start from (None: starting cash)
    end_day: date | None  # the close it was judged at
    judged: bool
    boards: tuple[PkBoard, ...]


@dataclass(frozen=True, slots=True)
class PkStanding:
    place: int
    team_id: int
    team_name: str
    standing: Standing


@dataclass(frozen=True, slots=True)
class PkOverview:
    contest_id: int
    round_bars: int
    rounds: tuple[PkRound, ...]
    standings: tuple[PkStanding, ...]


def pk_overview(uow: EngineUnitOfWork, contest_id: int) -> PkOverview:
    """Rounds (ticks, days, judged), their pairings and results, and the PK standings. Before
    trading starts the standings list the current teams at the prior rating."""
    with uow.reading():
        contest = require_contest(uow, contest_id, seasonal=True)
        pk = PkSettings.from_json(contest.pk_settings)
        if pk is None:
            raise _no_pk(contest_id)
        boards = defaultdict(list)
        for board in uow.pk.matches(contest_id):
            boards[board.round_no].append(board)
        rounds = tuple(
            PkRound(
                round_no=r.round_no,
                first_tick=r.start_tick + 1,
                last_tick=r.end_tick,
                start_day=r.start_day,
                end_day=r.end_day,
                judged=r.judged,
                boards=tuple(_board_view(b) for b in boards[r.round_no]),
            )
            for r in uow.pk.rounds(contest_id)
        )
        table = _standings_in(uow, contest_id, prior_if_unrated=True)
        names = {t.id: t.name for t in uow.contests.teams(contest_id)}
    return PkOverview(
        contest_id=contest_id,
        round_bars=pk.round_bars,
        rounds=rounds,
        standings=tuple(
            PkStanding(place, s.team_id, names.get(s.team_id, ""), s)
            for place, s in enumerate(table, start=1)
        ),
    )


def final_pk_standings(uow: EngineUnitOfWork, contest_id: int) -> list[Standing]:
    """The PK table, best first (place = index + 1), read inside the caller's open transaction
    (settlement pays PK prizes by it). Empty when no PK was played."""
    return _standings_in(uow, contest_id, prior_if_unrated=False)


def _standings_in(
    uow: EngineUnitOfWork, contest_id: int, *, prior_if_unrated: bool
) -> list[Standing]:
    ratings = uow.pk.ratings(contest_id)
    if not ratings and prior_if_unrated:
        ratings = {t.id: new_rating(t.id) for t in uow.contests.teams(contest_id)}
    results = [r for r in (_result(b) for b in uow.pk.matches(contest_id)) if r is not None]
    return standings(results, ratings)


def _board_view(board: PkMatchRow) -> PkBoard:
    return PkBoard(
        board=board.board,
        team_a=board.team_a,
        team_b=board.team_b,
        a_return=board.a_return,
        b_return=board.b_return,
        outcome=None if board.outcome is None else Outcome(board.outcome),
    )


def _no_pk(contest_id: int) -> RuleViolation:
    return RuleViolation(f"contest {contest_id} has no PK rounds", field="contest_id", rule="no_pk")
