"""Settlement on SQLite and PostgreSQL: prizes from the final standings, paid exactly once
however often (or however interrupted) settlement runs."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from core.db import Database
from core.errors import Conflict, NotFound
from core.users import services as users
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from engine import clock
from engine.contests import entries, pk_rounds, settlement, teams
from engine.contests import services as contests
from engine.contests.model import Contest, ContestState
from engine.contests.pk import Standing
from engine.contests.prize_table import PercentBand, RankRange
from engine.contests.settlement import NotFinished, pk_prize_rows, settle_contest
from engine.contests.spec import PkSettings, PrizeLine, TeamSettings
from engine.contests.store_prizes import PrizesRepository
from engine.trading import order_desk
from engine.trading.admission import OrderRefused
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger import services as ledger
from ledger.model import ISSUANCE, TransferRequest, item_asset, stock_account
from tests import contest_builders as build
from tests.concurrency import race
from tests.contest_builders import NOW
from tests.engine_builders import request

TICKET = "salon-ticket"


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


@dataclass(frozen=True)
class Field:
    """A finished contest: ``winner`` bought the best riser, ``loser`` the worst faller, the
    three ``idle`` members never traded (their return is exactly 0, so they tie)."""

    contest: Contest
    winner: User
    loser: User
    idle: tuple[User, User, User]


def _movers(uow: EngineUnitOfWork, symbols: list[str]) -> tuple[str, str]:
    """The symbols that rise most and fall most from the second day's open to the last close."""
    days = build.uow_trading_days(uow, symbols)
    with uow.reading():
        first, last = uow.market.bars_on(days[1], symbols), uow.market.bars_on(days[-1], symbols)
    change = {s: last[s].close / first[s].open for s in symbols}
    ordered = sorted(symbols, key=lambda s: change[s])
    return ordered[-1], ordered[0]


def finished_contest(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User], **changes: Any
) -> Field:
    """Five entries traded to the end of a 20-day replay (see ``Field``)."""
    season = build.season(uow, operator, days=20)
    contest = build.contest(uow, season, **changes)
    members = [make_user() for _ in range(5)]
    for member in members:
        entries.join_contest(uow, contest.id, member.id, now=NOW)
    clock.advance_clock(uow, contest.id)
    rising, falling = _movers(uow, list(season.universe))
    winner, loser, *idle = members
    order_desk.place_order(uow, contest.id, winner.id, request(symbol=rising, qty="10000"))
    order_desk.place_order(uow, contest.id, loser.id, request(symbol=falling, qty="10000"))
    report = clock.advance_clock(uow, contest.id, bars=100)
    assert report.finished
    return Field(contest, winner, loser, (idle[0], idle[1], idle[2]))


def ticket(uow: EngineUnitOfWork, *, stock: int) -> None:
    engagement.create_item(uow, key=TICKET, name="Salon ticket", cost_points=10**6, stock=stock)


def restock(uow: EngineUnitOfWork, amount: int) -> None:
    ledger.transfer(
        uow,
        TransferRequest(
            id=f"stock:{TICKET}:restock",
            debit=ISSUANCE,
            credit=stock_account(TICKET),
            asset=item_asset(TICKET),
            amount=amount,
            reason="stock",
        ),
    )


def posted_awards(uow: EngineUnitOfWork, contest_id: int) -> Counter[str]:
    """Ledger transfers per award id (``prize:…:points`` → ``prize:…``) of the contest."""
    with uow.reading():
        ids = [t.id for t in uow.ledger.all_transfers()]
    return Counter(
        transfer_id.rsplit(":", 1)[0]
        for transfer_id in ids
        if transfer_id.startswith((f"prize:{contest_id}:", f"pkprize:{contest_id}:"))
    )


def assert_ledger_sound(uow: EngineUnitOfWork) -> None:
    report = ledger.verify(uow)
    assert report.ok, report.errors
    assert ledger.trial_balance(uow).balanced


# --- who wins ---------------------------------------------------------------------------------


def test_members_tied_at_a_percentile_cutoff_all_get_the_line(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    # Top 40 % of five is ranks 1-2: the winner (1) and the three idle members tied at 2.
    ticket(uow, stock=10)
    lines = [
        PrizeLine(PercentBand.top(40), points=500, xp=200, item_key=TICKET),
        PrizeLine(PercentBand(Decimal(40), Decimal(100)), points=50),
    ]
    field = finished_contest(uow, operator, make_user, prizes=lines)

    report = settle_contest(uow, field.contest.id, now=NOW)

    listed = settlement.prize_list(uow, field.contest.id)
    by_member = {(p.line, p.member_id): p for p in listed.prizes}
    top = {field.winner.id, *(u.id for u in field.idle)}
    assert {m for line, m in by_member if line == 0} == top
    assert by_member[(0, field.winner.id)].rank == 1
    assert {by_member[(0, u.id)].rank for u in field.idle} == {2}
    assert [(p.member_id, p.rank) for p in listed.prizes if p.line == 1] == [(field.loser.id, 5)]
    assert report.prizes == 5 and report.recipients == 5 and report.paid_now == 5
    assert report.totals == {"POINTS": 4 * 500 + 50, "XP": 4 * 200, f"ITEM:{TICKET}": 4}
    assert report.settled and not report.refused
    assert contests.get_contest(uow, field.contest.id, now=NOW).state is ContestState.SETTLED
    for member in top:
        summary = engagement.points_summary(uow, member)
        assert (summary.points.posted, summary.lifetime_xp) == (500, 200)
        assert summary.items == {TICKET: 1}
    assert engagement.points_summary(uow, field.loser.id).points.posted == 50
    assert engagement.points_summary(uow, field.loser.id).items == {}
    assert_ledger_sound(uow)


def test_orders_are_refused_once_the_contest_has_finished(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    field = finished_contest(uow, operator, make_user, prizes=[PrizeLine(RankRange(1, 1), 10)])
    symbol = field.contest.universe[0]
    with pytest.raises(OrderRefused):
        order_desk.place_order(uow, field.contest.id, field.idle[0].id, request(symbol=symbol))
    settle_contest(uow, field.contest.id, now=NOW)
    with pytest.raises(OrderRefused):
        order_desk.place_order(uow, field.contest.id, field.idle[0].id, request(symbol=symbol))


# --- exactly once -----------------------------------------------------------------------------


def test_settling_twice_pays_once(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    ticket(uow, stock=10)
    field = finished_contest(
        uow, operator, make_user, prizes=[PrizeLine(RankRange(1, 2), 100, 10, TICKET)]
    )
    first = settle_contest(uow, field.contest.id, now=NOW)
    balances = ledger.trial_balance(uow).accounts

    again = settle_contest(uow, field.contest.id)

    assert (first.paid_now, first.already_paid) == (4, 0)
    assert (again.paid_now, again.already_paid) == (0, 4)
    assert again.settled_at == first.settled_at == NOW
    assert set(posted_awards(uow, field.contest.id).values()) == {3}  # points, xp, item each
    assert len(posted_awards(uow, field.contest.id)) == 4
    assert ledger.trial_balance(uow).accounts == balances
    assert_ledger_sound(uow)


@pytest.mark.parametrize("killed_after", [0, 1, 3])
def test_a_run_killed_between_postings_and_rerun_pays_each_prize_once(
    uow: EngineUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
    killed_after: int,
) -> None:
    field = finished_contest(
        uow, operator, make_user, prizes=[PrizeLine(RankRange(1, 5), points=100, xp=7)]
    )
    real_award = engagement.award
    done: list[str] = []

    def award_then_die(*args: Any, **kwargs: Any) -> Any:
        if len(done) == killed_after:
            raise RuntimeError("killed")
        done.append(kwargs["award_id"])
        return real_award(*args, **kwargs)

    monkeypatch.setattr(engagement, "award", award_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        settle_contest(uow, field.contest.id, now=NOW)
    assert contests.get_contest(uow, field.contest.id, now=NOW).state is ContestState.FINISHED
    monkeypatch.setattr(engagement, "award", real_award)

    report = settle_contest(uow, field.contest.id, now=NOW)

    assert (report.paid_now, report.already_paid) == (5 - killed_after, killed_after)
    assert posted_awards(uow, field.contest.id) == Counter(
        {f"prize:{field.contest.id}:{m}:0": 2 for m in _ids(field)}
    )
    for member in _ids(field):
        summary = engagement.points_summary(uow, member)
        assert (summary.points.posted, summary.lifetime_xp) == (100, 7)
    assert report.settled
    assert_ledger_sound(uow)


def test_a_run_killed_between_an_award_and_marking_it_paid_is_finished_by_the_rerun(
    uow: EngineUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    field = finished_contest(
        uow, operator, make_user, prizes=[PrizeLine(RankRange(1, 5), points=100)]
    )

    def die(self: PrizesRepository, award_id: str, when: Any) -> bool:
        raise RuntimeError("killed")

    monkeypatch.setattr(PrizesRepository, "mark_paid", die)
    with pytest.raises(RuntimeError, match="killed"):
        settle_contest(uow, field.contest.id, now=NOW)
    monkeypatch.undo()
    assert sum(posted_awards(uow, field.contest.id).values()) == 1  # posted, not marked

    report = settle_contest(uow, field.contest.id, now=NOW)

    assert report.paid_now == 5 and report.settled
    assert set(posted_awards(uow, field.contest.id).values()) == {1}
    assert len(posted_awards(uow, field.contest.id)) == 5
    assert all(engagement.points_summary(uow, m).points.posted == 100 for m in _ids(field))
    assert_ledger_sound(uow)


def test_an_item_out_of_stock_leaves_the_contest_unsettled_until_a_restock(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    ticket(uow, stock=2)
    field = finished_contest(
        uow, operator, make_user, prizes=[PrizeLine(RankRange(1, 5), points=10, item_key=TICKET)]
    )

    short = settle_contest(uow, field.contest.id, now=NOW)

    assert short.paid_now == 2 and not short.settled
    assert [r.rule for r in short.refused] == ["in_stock"] * 3
    assert contests.get_contest(uow, field.contest.id, now=NOW).state is ContestState.FINISHED
    restock(uow, 3)

    done = settle_contest(uow, field.contest.id, now=NOW)

    assert (done.paid_now, done.already_paid, done.refused) == (3, 2, ())
    assert done.settled
    assert all(engagement.points_summary(uow, m).items == {TICKET: 1} for m in _ids(field))
    assert all(engagement.points_summary(uow, m).points.posted == 10 for m in _ids(field))
    with uow.reading():
        assert engagement.stock_left(uow, TICKET) == 0
    assert_ledger_sound(uow)


# --- PK prizes --------------------------------------------------------------------------------


def test_pk_prizes_go_to_every_member_of_the_teams_by_final_pk_place(
    uow: EngineUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pk = {"round_bars": 5, "prizes": [{"ranks": [1, 1], "points": 300, "xp": 30}]}
    season = build.season(uow, operator, days=20)
    contest = build.contest(
        uow,
        season,
        teams=TeamSettings(max_size=2),
        pk=PkSettings.from_json(pk),
        prizes=[PrizeLine(RankRange(1, 1), points=1)],
    )
    members = [make_user() for _ in range(4)]
    for member in members:
        entries.join_contest(uow, contest.id, member.id, now=NOW)
    red = teams.create_team(uow, contest.id, members[0].id, name="Red")
    blue = teams.create_team(uow, contest.id, members[2].id, name="Blue")
    teams.join_team(uow, red.id, members[1].id, invite_code=red.invite_code)
    teams.join_team(uow, blue.id, members[3].id, invite_code=blue.invite_code)
    clock.advance_clock(uow, contest.id, bars=100)
    # The PK table itself is the PK service's (tested there); here: Blue ends first.
    table = [_standing(blue.id, points=6), _standing(red.id, points=0)]
    monkeypatch.setattr(pk_rounds, "final_pk_standings", lambda uow, contest_id: table)

    report = settle_contest(uow, contest.id, now=NOW)

    pk_won = [p for p in settlement.prize_list(uow, contest.id).prizes if p.kind == "pk"]
    assert {(p.member_id, p.team_id, p.rank) for p in pk_won} == {
        (members[2].id, blue.id, 1),
        (members[3].id, blue.id, 1),
    }
    assert {p.award_id for p in pk_won} == {
        f"pkprize:{contest.id}:{blue.id}:{m.id}:0" for m in members[2:]
    }
    assert report.settled
    again = settle_contest(uow, contest.id)
    assert again.paid_now == 0
    for member in members[2:]:
        assert engagement.points_summary(uow, member.id).lifetime_xp == 30


def _standing(team_id: int, *, points: int) -> Standing:
    return Standing(team_id, 2, points // 3, 0, 2 - points // 3, 0, points, 25.0, 8.0, 1.0)


def test_pk_prize_rows_cover_the_places_of_their_rank_lines() -> None:
    lines = [PrizeLine(RankRange(1, 1), points=9), PrizeLine(RankRange(2, 5), xp=4)]
    rows = pk_prize_rows(7, lines, [30, 10, 20], {30: [1, 2], 10: [3], 20: []})
    assert [(r.line, r.member_id, r.team_id, r.rank) for r in rows] == [
        (0, 1, 30, 1),
        (0, 2, 30, 1),
        (1, 3, 10, 2),
    ]
    assert rows[2].award_id == "pkprize:7:10:3:1" and (rows[2].points, rows[2].xp) == (0, 4)


# --- refusals ---------------------------------------------------------------------------------


def test_a_contest_still_trading_is_not_settled(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator, days=20)
    contest = build.contest(uow, season, prizes=[PrizeLine(RankRange(1, 1), 10)])
    entries.join_contest(uow, contest.id, make_user().id, now=NOW)
    with pytest.raises(NotFinished) as before_start:
        settle_contest(uow, contest.id)
    clock.advance_clock(uow, contest.id, bars=3)
    with pytest.raises(NotFinished) as running:
        settle_contest(uow, contest.id)
    assert before_start.value.extensions["rule"] == running.value.extensions["rule"]
    assert running.value.extensions["rule"] == "not_finished"
    assert isinstance(running.value, Conflict)
    assert settlement.prize_list(uow, contest.id, operator=True).prizes == ()
    with pytest.raises(Conflict) as unpublished:
        settlement.prize_list(uow, contest.id)
    assert unpublished.value.extensions["rule"] == "not_settled"


def test_an_unknown_contest_is_not_found(uow: EngineUnitOfWork) -> None:
    with pytest.raises(NotFound):
        settle_contest(uow, 999_999)
    with pytest.raises(NotFound):
        settlement.prize_list(uow, 999_999, operator=True)


def test_a_contest_without_entries_settles_with_no_prizes(
    uow: EngineUnitOfWork, operator: User
) -> None:
    season = build.season(uow, operator, days=20)
    contest = build.contest(uow, season, prizes=[PrizeLine(RankRange(1, 3), 10)])
    clock.advance_clock(uow, contest.id, bars=100)
    report = settle_contest(uow, contest.id, now=NOW)
    assert (report.prizes, report.totals, report.settled_at) == (0, {}, NOW)


def _ids(field: Field) -> list[int]:
    return [field.winner.id, field.loser.id, *(u.id for u in field.idle)]


# --- PostgreSQL: two settlements at once --------------------------------------------------------


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


@pytest.mark.postgres_only
def test_two_concurrent_settlements_pay_each_prize_once(pg_database: Database) -> None:
    uow = EngineUnitOfWork(pg_database.sessions)
    numbers = itertools.count(1)

    def make_user(*roles: Role) -> User:
        return users.create_user(
            UsersUnitOfWork(pg_database.sessions),
            username=f"settler{next(numbers)}",
            password="a long password",
            roles=roles or (Role.MEMBER,),
        )

    ticket(uow, stock=10)
    field = finished_contest(
        uow,
        make_user(Role.OPERATOR),
        make_user,
        prizes=[PrizeLine(RankRange(1, 5), points=100, xp=5, item_key=TICKET)],
    )

    outcomes = race(
        2, lambda _: settle_contest(EngineUnitOfWork(pg_database.sessions), field.contest.id)
    )

    reports = [o for o in outcomes if isinstance(o, settlement.SettlementReport)]
    assert len(reports) == 2, outcomes
    assert sum(r.paid_now for r in reports) == 5
    assert all(r.settled for r in reports)
    assert posted_awards(uow, field.contest.id) == Counter(
        {f"prize:{field.contest.id}:{m}:0": 3 for m in _ids(field)}
    )
    assert all(engagement.points_summary(uow, m).items == {TICKET: 1} for m in _ids(field))
    assert_ledger_sound(uow)
