"""Settlement: when the trading window has closed, the final standings become a frozen prize
list, and every prize is paid into the ledger exactly once.

Three steps, each safe to repeat, so a run that is killed anywhere and run again (or two runs
at once) pays every prize once:

1. **Freeze** (one transaction, the contest row locked): unless the contest has prize rows, read
   the final standings (the leaderboard snapshot of the last tick: valuations at the last close)
   and the final PK table, apply the prize tables and store one row per (line, member). A rerun
   never recomputes, so nothing that happens later can move a prize.
2. **Pay**: each unpaid prize goes to ``ledger.engagement.award`` in a transaction of its own,
   idempotent by the prize's deterministic award id (``prize:<contest>:<member>:<line>``, or
   ``pkprize:<contest>:<team>:<member>:<line>``), then is marked paid in another. A run killed
   between the two leaves a prize paid but unmarked: the rerun's award replays the original
   transfers (nothing new is posted) and marks it.
3. **Close**: once nothing is unpaid, stamp ``settled_at``.

An award the ledger refuses (a reward item out of stock) is reported, the other prizes are still
paid, and ``settled_at`` stays unset; a rerun after the stock is refilled pays the rest.

**One account per person.** With the contest rule ``one_account_per_person`` on, the freeze
applies it once more under the person links of that moment, so a second account of one person
never receives a contest prize, even when the link was decided after the last tick. (PK prizes
go to teams and are not filtered.)
**Draw prizes** (``engine.contests.prize_rules``) go by lot among the entrants with enough
fills in the trading window, from the contest's committed draw seed; they are frozen with the
other prizes (``kind="draw"``, ``rank`` = the order drawn, award id
``drawprize:<contest>:<member>:<line>``), so a rerun never draws again.

**PK prizes** go by final PK standing, which is a total order (points, then rating, then team
id): a team's rank is its place in that table, so PK lines never tie. Every member of a prized
team gets the line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import utc_now
from core.errors import Conflict, DomainError
from core.outbox import PRIZE_PAID, NewEvent
from core.rule_codes import Rule
from engine.contests import leaderboard, pk_rounds
from engine.contests.metric_state import Game
from engine.contests.model import trading_over
from engine.contests.prize_rules import DrawPrize, DrawWin, draw_winners, draws_from_json
from engine.contests.prize_table import RankRange, prize_recipients
from engine.contests.ranking import Standings, second_accounts, without_ranks_of
from engine.contests.spec import PkSettings, PrizeLine, prize_table_from_json
from engine.contests.store import PrizeRow
from engine.trading.store import ContestRow
from engine.trading.venue import require_contest
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.earning import Award
from ledger.model import POINTS, XP, Asset, item_asset

PRIZE_REASON = "contest_prize"


class NotFinished(Conflict):
    slug = "not-finished"
    title = "The contest has not finished"


@dataclass(frozen=True, slots=True)
class Prize:
    """One member's prize from one line of the contest's (``kind="contest"``) or PK
    (``kind="pk"``) prize table; ``rank`` is the competition rank (PK: the team's place)."""

    kind: str
    line: int
    member_id: int
    team_id: int | None
    rank: int
    points: int
    xp: int
    item_key: str | None
    award_id: str
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefusedPrize:
    """A prize the ledger refused this run (``rule`` names why, e.g. ``in_stock``)."""

    award_id: str
    member_id: int
    rule: str
    detail: str


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """What one settlement run found and did.

    ``prizes`` counts the frozen list's rows (one per member and line), ``recipients`` the
    distinct members among them; ``paid_now`` the prizes this run marked paid, ``already_paid``
    those found paid (by an earlier or a concurrent run); ``totals`` is the whole list by ledger
    asset (``POINTS``, ``XP``, ``ITEM:<key>``), paid or not.
    """

    contest_id: int
    prizes: int
    recipients: int
    paid_now: int
    already_paid: int
    refused: tuple[RefusedPrize, ...]
    totals: dict[Asset, int]
    settled_at: datetime | None

    @property
    def settled(self) -> bool:
        return self.settled_at is not None


@dataclass(frozen=True, slots=True)
class PrizeList:
    contest_id: int
    settled_at: datetime | None
    prizes: tuple[Prize, ...]


def settle_contest(
    uow: EngineUnitOfWork, contest_id: int, *, now: datetime | None = None
) -> SettlementReport:
    """Freeze the prize list of a finished contest and pay what is unpaid (see the module).

    Raises ``NotFound`` for an unknown contest and ``NotFinished`` (409, rule ``not_finished``)
    before the clock has reached the last trading day.
    """
    moment = now or utc_now()
    frozen = _freeze(uow, contest_id)
    paid_now, already_paid = 0, 0
    refused: list[RefusedPrize] = []
    for prize in frozen:
        if prize.paid_at is not None:
            already_paid += 1
            continue
        try:
            _pay(uow, contest_id, prize, now=moment)
        except DomainError as error:  # a refused award must not stop the others
            refused.append(_refusal(prize, error))
            continue
        with uow:
            marked = uow.prizes.mark_paid(prize.award_id, moment)
            uow.commit()
        if marked:
            paid_now += 1
        else:  # a concurrent run marked it between our read and our write
            already_paid += 1
    settled_at = _close(uow, contest_id, moment)
    return SettlementReport(
        contest_id=contest_id,
        prizes=len(frozen),
        recipients=len({prize.member_id for prize in frozen}),
        paid_now=paid_now,
        already_paid=already_paid,
        refused=tuple(refused),
        totals=_totals(frozen),
        settled_at=settled_at,
    )


def prize_list(uow: EngineUnitOfWork, contest_id: int, *, operator: bool = False) -> PrizeList:
    """The contest's prizes and whether each is paid. Members see the list once the contest is
    settled (409 ``not_settled`` before); operators see it as soon as it is frozen."""
    with uow.reading():
        row = require_contest(uow, contest_id, seasonal=True)
        if row.settled_at is None and not operator:
            raise Conflict(
                "the prize list is published when the contest is settled",
                field="contest_id",
                rule=Rule.NOT_SETTLED,
            )
        return PrizeList(
            contest_id,
            row.settled_at,
            tuple(_prize(p) for p in uow.prizes.prizes(contest_id)),
        )


# --- step 1: freeze ---------------------------------------------------------------------------


def _freeze(uow: EngineUnitOfWork, contest_id: int) -> list[Prize]:
    """The contest's prize list, computed and stored by the first run only."""
    with uow:
        # One freezer at a time.
        contest = require_contest(uow, contest_id, lock=True, seasonal=True)
        if not trading_over(
            clock_day=contest.clock_day,
            trading_end=contest.trading_end,
            minute=contest.bar_interval == "minute",
            closed_day=contest.closed_day,
        ):
            raise NotFinished(
                f"contest {contest_id} trades until {contest.trading_end.isoformat()}; "
                "it is settled after its last trading day",
                field="contest_id",
                rule=Rule.NOT_FINISHED,
            )
        if contest.settled_at is None and not uow.prizes.has_prizes(contest_id):
            uow.prizes.add_all(
                _contest_prizes(uow, contest)
                + _pk_prizes(uow, contest)
                + _draw_prizes(uow, contest)
            )
        frozen = [_prize(row) for row in uow.prizes.prizes(contest_id)]
        uow.commit()
    return frozen


def _contest_prizes(uow: EngineUnitOfWork, contest: ContestRow) -> list[PrizeRow]:
    table = prize_table_from_json(contest.prizes, at="prizes")
    if not table:
        return []
    standings = one_account_per_person(uow, contest, final_standings(uow, contest))
    return [
        _row(
            contest.id,
            "contest",
            table[won.line],
            line=won.line,
            member_id=won.member_id,
            team_id=None,
            rank=won.rank,
            award_id=f"prize:{contest.id}:{won.member_id}:{won.line}",
        )
        for won in prize_recipients(standings, [line.places for line in table])
    ]


def final_standings(uow: EngineUnitOfWork, contest: ContestRow) -> Standings:
    """The standings after the contest's last tick, inside an open transaction.

    Raises ``Conflict`` (rule ``standings_missing``) when the contest has entries but its last
    tick left no leaderboard: prizes are never paid from stale standings.
    """
    found = leaderboard.current(uow, contest.id)
    if found is not None:
        return found
    if uow.contests.entry_count(contest.id) == 0:
        return Standings.from_rows([])
    raise Conflict(
        f"contest {contest.id} has no leaderboard for its last tick ({contest.clock_ticks})",
        field="contest_id",
        rule=Rule.STANDINGS_MISSING,
    )


def one_account_per_person(
    uow: EngineUnitOfWork, contest: ContestRow, standings: Standings
) -> Standings:
    """The standings with the ``one_account_per_person`` rule applied under the person links
    as they are now (a link decided after the last tick still keeps a second account of a
    person from a prize); the standings unchanged when the rule is off."""
    if not Game.of(contest).one_account_per_person:
        return standings
    seconds = second_accounts(standings, uow.integrity.linked_entrants(contest.id))
    return without_ranks_of(standings, seconds)


def _pk_prizes(uow: EngineUnitOfWork, contest: ContestRow) -> list[PrizeRow]:
    settings = PkSettings.from_json(contest.pk_settings)
    if settings is None or not settings.prizes:
        return []
    table = pk_rounds.final_pk_standings(uow, contest.id)
    return pk_prize_rows(
        contest.id,
        settings.prizes,
        [standing.team_id for standing in table],
        {team: uow.contests.team_members(team) for team in {s.team_id for s in table}},
    )


def _draw_prizes(uow: EngineUnitOfWork, contest: ContestRow) -> list[PrizeRow]:
    draws = draws_from_json(contest.draws)
    if not draws:
        return []
    if contest.draw_seed is None:  # create_contest and update_contest always set one
        raise RuntimeError(f"contest {contest.id} has draws but no draw seed")
    wins = draw_winners(contest.draw_seed, contest.id, draws, trades=draw_entrants(uow, contest))
    return [draw_prize_row(contest.id, draws[win.line], win) for win in wins]


def draw_entrants(uow: EngineUnitOfWork, contest: ContestRow) -> dict[int, int]:
    """Every entrant (member id) and their fills in the trading window: the draw's field."""
    fills = {
        counts.account_id: counts.trades
        for counts in uow.standings.fill_counts(
            contest.id, first=contest.trading_start, last=contest.trading_end
        )
    }
    return {a.member_id: fills.get(a.id, 0) for a in uow.trading.accounts(contest.id)}


def draw_prize_row(contest_id: int, prize: DrawPrize, win: DrawWin) -> PrizeRow:
    """The frozen prize row of one draw win."""
    return PrizeRow(
        contest_id=contest_id,
        kind="draw",
        line=win.line,
        member_id=win.member_id,
        team_id=None,
        rank=win.order,
        points=prize.points,
        xp=prize.xp,
        item_key=prize.item_key,
        award_id=f"drawprize:{contest_id}:{win.member_id}:{win.line}",
    )


def pk_prize_rows(
    contest_id: int,
    lines: Sequence[PrizeLine],
    teams_in_order: Sequence[int],
    members: dict[int, list[int]],
) -> list[PrizeRow]:
    """One row per member of each team whose place (1-based, in ``teams_in_order``) a rank
    line covers; ``members`` maps team id → member ids."""
    rows: list[PrizeRow] = []
    for line_no, line in enumerate(lines):
        if not isinstance(line.places, RankRange):  # PkSettings allows rank ranges only
            raise ValueError("PK prize lines are rank ranges")
        first, last = line.places.ranks(len(teams_in_order))
        for place in range(first, min(last, len(teams_in_order)) + 1):
            team = teams_in_order[place - 1]
            rows += [
                _row(
                    contest_id,
                    "pk",
                    line,
                    line=line_no,
                    member_id=member,
                    team_id=team,
                    rank=place,
                    award_id=f"pkprize:{contest_id}:{team}:{member}:{line_no}",
                )
                for member in members.get(team, [])
            ]
    return rows


def _row(
    contest_id: int,
    kind: str,
    prize: PrizeLine,
    *,
    line: int,
    member_id: int,
    team_id: int | None,
    rank: int,
    award_id: str,
) -> PrizeRow:
    return PrizeRow(
        contest_id=contest_id,
        kind=kind,
        line=line,
        member_id=member_id,
        team_id=team_id,
        rank=rank,
        points=prize.points,
        xp=prize.xp,
        item_key=prize.item_key,
        award_id=award_id,
    )


# --- step 2: pay ------------------------------------------------------------------------------


def _pay(uow: EngineUnitOfWork, contest_id: int, prize: Prize, *, now: datetime) -> None:
    """Post one prize (its own ledger transaction; a replay when it was posted before)."""
    engagement.award(
        uow,
        prize.member_id,
        Award(points=prize.points, xp=prize.xp),
        award_id=prize.award_id,
        reason=PRIZE_REASON,
        reference=f"contest:{contest_id}",
        item_key=prize.item_key,
        now=now,
        events=[prize_paid_event(contest_id, prize)],
    )


def prize_paid_event(contest_id: int, prize: Prize) -> NewEvent:
    """The ``prize.paid`` outbox event of one prize (id ``prize.paid:<award id>``)."""
    return NewEvent(
        PRIZE_PAID,
        {
            "contest_id": contest_id,
            "award_id": prize.award_id,
            "kind": prize.kind,
            "line": prize.line,
            "member_id": prize.member_id,
            "team_id": prize.team_id,
            "rank": prize.rank,
            "points": prize.points,
            "xp": prize.xp,
            "item_key": prize.item_key,
        },
        f"prize.paid:{prize.award_id}",
    )


def _refusal(prize: Prize, error: DomainError) -> RefusedPrize:
    return RefusedPrize(
        award_id=prize.award_id,
        member_id=prize.member_id,
        rule=str(error.extensions.get("rule") or error.slug),
        detail=error.detail,
    )


# --- step 3: close ----------------------------------------------------------------------------


def _close(uow: EngineUnitOfWork, contest_id: int, moment: datetime) -> datetime | None:
    """Stamp ``settled_at`` when every prize is paid; the stamp (new or earlier), else None."""
    with uow:
        contest = require_contest(uow, contest_id, lock=True, seasonal=True)
        if contest.settled_at is None and uow.prizes.unpaid_count(contest_id) == 0:
            contest.settled_at = moment
        settled_at = contest.settled_at
        uow.commit()
    return settled_at


# --- views ------------------------------------------------------------------------------------


def _prize(row: PrizeRow) -> Prize:
    return Prize(
        kind=row.kind,
        line=row.line,
        member_id=row.member_id,
        team_id=row.team_id,
        rank=row.rank,
        points=row.points,
        xp=row.xp,
        item_key=row.item_key,
        award_id=row.award_id,
        paid_at=row.paid_at,
    )


def _totals(prizes: Sequence[Prize]) -> dict[Asset, int]:
    totals: Counter[Asset] = Counter()
    for prize in prizes:
        totals[POINTS] += prize.points
        totals[XP] += prize.xp
        if prize.item_key is not None:
            totals[item_asset(prize.item_key)] += 1
    return {asset: amount for asset, amount in totals.items() if amount}
