"""Prize rules on SQLite and PostgreSQL: what an operator may save (draw cap, no paid entry,
disclosures when public), what a member may join, and draw prizes settled exactly once."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import Database
from core.errors import RuleViolation
from core.users import services as users
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from engine.contests import entries, settlement
from engine.contests import services as contests
from engine.contests.model import Season
from engine.contests.prize_rules import (
    Disclosures,
    DrawPrize,
    PrizeLimits,
    draw_commitment,
    draw_winners,
)
from engine.contests.prize_table import RankRange
from engine.contests.spec import PrizeLine
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.concurrency import race
from tests.contest_builders import DISCLOSURES, NOW
from tests.integration.test_settlement import assert_ledger_sound, finished_contest

LIMITS = PrizeLimits({"CN": Decimal(1000)}, Decimal("0.01"))  # ¥1,000 per draw prize


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


@pytest.fixture
def season(uow: EngineUnitOfWork, operator: User) -> Season:
    """One season per test: hypothesis runs every example against the same database."""
    return build.season(uow, operator, days=10)


def _draft(season: Season, **changes: object) -> contests.ContestDraft:
    assert season.replay_start is not None and season.replay_end is not None
    draft = contests.ContestDraft(
        season_id=season.id,
        title="Lucky cup",
        trading_start=season.replay_start,
        trading_end=season.replay_end,
        starting_cash=Decimal(1_000_000),
    )
    return replace(draft, **changes)  # type: ignore[arg-type]


# --- what may be saved -------------------------------------------------------------------------

draws = st.lists(
    st.builds(
        DrawPrize,
        winners=st.integers(1, 3),
        cash_value=st.decimals(min_value=0, max_value=2000, places=2),
        points=st.integers(1, 200_000),
    ),
    max_size=2,
)
ranked = st.lists(st.just(PrizeLine(RankRange(1, 1), points=10)), max_size=1)
disclosed = st.sampled_from([DISCLOSURES, Disclosures(), replace(DISCLOSURES, organiser=" ")])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    draws=draws,
    prizes=ranked,
    fee=st.sampled_from([0, 0, 50]),
    disclosures=disclosed,
    private=st.booleans(),
)
def test_no_accepted_contest_breaks_a_prize_rule(
    uow: EngineUnitOfWork,
    season: Season,
    draws: list[DrawPrize],
    prizes: list[PrizeLine],
    fee: int,
    disclosures: Disclosures,
    private: bool,
) -> None:
    draft = _draft(
        season,
        draws=tuple(draws),
        prizes=tuple(prizes),
        entry_fee_points=fee,
        disclosures=disclosures,
        private=private,
    )
    try:
        contests.create_contest(uow, draft, now=NOW, limits=LIMITS)
    except RuleViolation as refused:
        assert refused.rule in {"draw_prize_cap", "paid_entry_with_prizes", "disclosure_required"}
    stored, _ = contests.list_contests(uow, season_id=season.id, limit=500, operator=True, now=NOW)
    for contest in stored:  # every contest ever accepted, across the examples
        assert all(d.value_cny(LIMITS) <= Decimal(1000) for d in contest.draws)
        assert not (contest.has_prizes and contest.entry_fee_points > 0)
        if contest.has_prizes and not contest.private:
            assert contest.disclosures.missing(has_draws=bool(contest.draws)) == []
        assert contest.draw_commitment is not None and contest.draw_seed is None


def test_a_private_prized_contest_is_saved_but_takes_no_entry_until_disclosed(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator, days=10)
    prize = (PrizeLine(RankRange(1, 1), points=10),)
    contest = build.contest(uow, season, private=True, prizes=prize, disclosures=Disclosures())
    member = make_user()
    code = contests.get_contest(uow, contest.id, operator=True).invite_code
    with pytest.raises(RuleViolation) as refused:
        entries.join_contest(uow, contest.id, member.id, invite_code=code, now=NOW)
    assert refused.value.rule == "disclosure_required"
    assert len(refused.value.extensions["errors"]) == 7
    with pytest.raises(RuleViolation) as public:
        contests.update_contest(uow, contest.id, {"private": False}, now=NOW)
    assert public.value.field == "disclosures.organiser"
    contests.update_contest(uow, contest.id, {"disclosures": DISCLOSURES}, now=NOW)
    entries.join_contest(uow, contest.id, member.id, invite_code=code, now=NOW)
    assert contests.get_contest(uow, contest.id).entries == 1


def test_a_contest_without_prizes_needs_no_disclosures_and_may_charge_nothing_else(
    uow: EngineUnitOfWork, operator: User
) -> None:
    season = build.season(uow, operator, days=10)
    plain = build.contest(uow, season, disclosures=Disclosures(), entry_fee_points=20)
    assert plain.entry_fee_points == 20 and not plain.has_prizes
    with pytest.raises(RuleViolation) as refused:
        contests.update_contest(
            uow, plain.id, {"prizes": (PrizeLine(RankRange(1, 1), points=1),)}, now=NOW
        )
    assert (refused.value.field, refused.value.rule) == (
        "entry_fee_points",
        "paid_entry_with_prizes",
    )


# --- the draw at settlement --------------------------------------------------------------------


def test_draw_prizes_are_drawn_from_the_committed_seed_and_paid_once(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    lines = (
        DrawPrize(winners=1, cash_value=Decimal(50), min_trades=1, points=777),
        DrawPrize(winners=2, cash_value=Decimal(5), points=33, xp=3),
    )
    field = finished_contest(uow, operator, make_user, draws=lines)
    before = contests.get_contest(uow, field.contest.id, operator=True)
    assert before.draw_seed is None and before.draw_commitment is not None

    first = settlement.settle_contest(uow, field.contest.id)
    again = settlement.settle_contest(uow, field.contest.id)
    assert first.settled and (first.prizes, first.paid_now) == (3, 3)
    assert (again.paid_now, again.already_paid) == (0, 3)

    after = contests.get_contest(uow, field.contest.id)
    assert (
        after.draw_seed is not None and draw_commitment(after.draw_seed) == before.draw_commitment
    )
    traders = {field.winner.id, field.loser.id}
    trades = {m: (1 if m in traders else 0) for m in [*traders, *(u.id for u in field.idle)]}
    expected = draw_winners(after.draw_seed, field.contest.id, lines, trades=trades)
    prizes = settlement.prize_list(uow, field.contest.id).prizes
    drawn = [(p.line, p.member_id, p.rank) for p in prizes if p.kind == "draw"]
    assert drawn == [(w.line, w.member_id, w.order) for w in expected]
    assert next(p for p in prizes if p.line == 0).member_id in traders  # min_trades=1
    with uow.reading():
        awards = [t.id for t in uow.ledger.all_transfers() if t.id.startswith("drawprize:")]
    assert len(awards) == len(set(awards)) == 1 + 2 * 2  # line 0: points; line 1: points, XP
    assert_ledger_sound(uow)


# --- PostgreSQL: two settlements at once draw once -----------------------------------------------


@pytest.mark.postgres_only
def test_two_concurrent_settlements_draw_and_pay_once(pg_url: str) -> None:
    database = Database.connect(pg_url)
    try:
        uow = EngineUnitOfWork(database.sessions)
        numbers = itertools.count(1)

        def make_user(*roles: Role) -> User:
            return users.create_user(
                UsersUnitOfWork(database.sessions),
                username=f"drawer{next(numbers)}",
                password="a long password",
                roles=roles or (Role.MEMBER,),
            )

        lines = (DrawPrize(winners=3, cash_value=Decimal(10), points=50),)
        field = finished_contest(uow, make_user(Role.OPERATOR), make_user, draws=lines)
        outcomes = race(
            2,
            lambda _: settlement.settle_contest(
                EngineUnitOfWork(database.sessions), field.contest.id
            ),
        )
        reports = [o for o in outcomes if isinstance(o, settlement.SettlementReport)]
        assert len(reports) == 2, outcomes
        assert sum(r.paid_now for r in reports) == 3 and all(r.settled for r in reports)
        with uow.reading():
            awards = [t.id for t in uow.ledger.all_transfers() if t.id.startswith("drawprize:")]
        assert len(awards) == len(set(awards)) == 3
        assert_ledger_sound(uow)
    finally:
        database.dispose()
