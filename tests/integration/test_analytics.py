"""Operator analytics on both databases over a seeded small world: the SQL aggregates agree
with hand-counted figures and with the pure functions run on the raw rows; the liability is
the ledger's own balances; a population narrows every figure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.db import Database
from core.users.model import Role, User
from core.users.store import UserRow
from engine.analytics import model
from engine.analytics import services as analytics
from engine.analytics.services import Audience, UnknownSegment
from engine.analytics.uow import AnalyticsUnitOfWork
from engine.trading.store import AccountRow, OrderRow
from ledger.model import ISSUANCE, POINTS, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork, balance, transfer
from ledger.store.engagement import CheckInRow, RedemptionRow
from tests.analytics_world import WINDOW, AnalyticsWorld, build_world

RATE = Decimal("0.01")


@pytest.fixture
def uow(database: Database) -> AnalyticsUnitOfWork:
    return AnalyticsUnitOfWork(database.sessions)


@pytest.fixture
def world(database: Database, make_user: Callable[..., User]) -> AnalyticsWorld:
    return build_world(database, make_user(Role.OPERATOR))


def _the_funnel_counts_members_through_every_stage_before(
    uow: AnalyticsUnitOfWork, world: AnalyticsWorld
) -> None:
    stages = analytics.engagement_funnel(uow, WINDOW)
    # a, b, c, d, e signed up; a, b, d joined; only a traded, kept a 3-day streak, redeemed
    # (b redeemed too, but never traded: a funnel counts no one who skipped a stage).
    assert [(s.stage, s.members) for s in stages] == list(
        zip(model.FUNNEL_STAGES, [5, 3, 1, 1, 1], strict=True)
    )
    assert [s.members for s in analytics.engagement_funnel(uow, WINDOW, streak=4)] == [
        5,
        3,
        1,
        0,
        0,
    ]
    some = Audience(user_ids=world.of("a", "d", "old"))
    assert [s.members for s in analytics.engagement_funnel(uow, WINDOW, some)] == [2, 2, 1, 1, 1]


def _retention_by_sign_up_week(uow: AnalyticsUnitOfWork, world: AnalyticsWorld) -> None:
    cohorts = analytics.retention(uow, WINDOW)
    assert [(c.week, c.size, c.retained) for c in cohorts] == [
        (date(2026, 1, 5), 3, (1, 1, 1)),  # a active weeks 1-2, b in week 3, c never
        (date(2026, 1, 12), 1, (1, 0)),
        (date(2026, 1, 19), 1, (1,)),
    ]
    assert cohorts[0].rates == (Decimal("0.3333"),) * 3
    # The same table from the raw rows through the pure functions.
    with uow.sessions() as session:
        signed_up = {
            i: at.date()
            for i, at in session.execute(select(UserRow.id, UserRow.created_at))
            if WINDOW.first <= at.date() <= WINDOW.last
        }
        active = [
            (m, date.fromisoformat(d))
            for m, d in session.execute(select(CheckInRow.member_id, CheckInRow.local_date))
        ]
        active += [
            (m, at.date())
            for m, at in session.execute(
                select(AccountRow.member_id, OrderRow.created_at).join(
                    AccountRow, AccountRow.id == OrderRow.account_id
                )
            )
        ]
        active += [
            (m, at.date())
            for m, at in session.execute(select(RedemptionRow.member_id, RedemptionRow.created_at))
        ]
    active = [(m, d) for m, d in active if WINDOW.first <= d <= WINDOW.last]
    sizes: dict[int, int] = {}
    for day in signed_up.values():
        sizes[model.week_number(day)] = sizes.get(model.week_number(day), 0) + 1
    cells = model.retention_cells(signed_up, active)
    assert cohorts == model.retention_table(sizes, cells, last_week=model.week_number(WINDOW.last))


def _participation_per_day(uow: AnalyticsUnitOfWork, world: AnalyticsWorld) -> None:
    seen = analytics.participation(uow, WINDOW)
    assert seen.members == 6  # old and a..e; "late" signed up after the window
    assert seen.active_members == 5  # old, a, b, d, e
    assert len(seen.days) == WINDOW.days
    by_day = {d.day: d for d in seen.days}
    assert by_day[date(2026, 1, 5)] == model.DayActivity(date(2026, 1, 5), 1, 0, 1, 0, 1)
    assert by_day[date(2026, 1, 10)] == model.DayActivity(date(2026, 1, 10), 1, 0, 1, 1, 0)
    assert by_day[date(2026, 1, 11)].sign_ups == 1  # c, 23:30 UTC on Sunday
    assert sum(d.check_ins for d in seen.days) == 5
    assert sum(d.sign_ups for d in seen.days) == 5
    narrow = analytics.participation(uow, WINDOW, Audience(user_ids=world.of("e")))
    assert (narrow.members, narrow.active_members) == (1, 1)


def _liability_is_the_ledger_s_balances(uow: AnalyticsUnitOfWork, world: AnalyticsWorld) -> None:
    owed = analytics.points_liability(uow, points_cny_rate=RATE)
    # old 100 (its book cancelled), a 100 - 20, b 50 with 40 held for a book.
    assert (owed.members, owed.posted, owed.held, owed.spendable) == (3, 230, 40, 190)
    assert owed.cost_cny == Decimal("1.90")
    only_b = analytics.points_liability(uow, Audience(user_ids=world.of("b")), points_cny_rate=RATE)
    assert (only_b.posted, only_b.held) == (50, 40)
    # A segment larger than SQLite's bound-variable limit still works (ids render inline).
    huge = Audience(user_ids=frozenset(range(1, 40_001)))
    assert analytics.points_liability(uow, huge, points_cny_rate=RATE).posted == 230
    assert analytics.engagement_funnel(uow, WINDOW, huge)[0].members == 5


def _reward_cost_leaves_out_cancelled_redemptions(
    uow: AnalyticsUnitOfWork, world: AnalyticsWorld
) -> None:
    cost = analytics.reward_cost(uow, WINDOW, points_cny_rate=RATE)
    assert cost.issued == (model.IssuedPoints("grant", 150, 2),)
    assert cost.redeemed == (model.RedeemedItem("book", 1, 40), model.RedeemedItem("ticket", 1, 20))
    assert (cost.issued_cny, cost.redeemed_cny) == (Decimal("1.50"), Decimal("0.60"))
    nobody = analytics.reward_cost(
        uow, WINDOW, Audience(user_ids=frozenset()), points_cny_rate=RATE
    )
    assert (nobody.issued, nobody.redeemed) == ((), ())


def _a_segment_needs_a_resolver(uow: AnalyticsUnitOfWork, world: AnalyticsWorld) -> None:
    with pytest.raises(UnknownSegment) as excinfo:
        analytics.engagement_funnel(uow, WINDOW, Audience(segment="whales"))
    assert excinfo.value.rule == "unknown_segment"
    segments = {"early": world.of("a", "b", "c")}
    audience = Audience(segment="early", resolver=lambda _session, key: segments[key])
    overview = analytics.overview(uow, WINDOW, audience, points_cny_rate=RATE)
    assert [s.members for s in overview.funnel] == [3, 2, 1, 1, 1]
    assert overview.liability.posted == 130
    with pytest.raises(UnknownSegment):
        analytics.overview(
            uow,
            WINDOW,
            Audience(segment="x", resolver=lambda _s, k: segments[k]),
            points_cny_rate=RATE,
        )


def test_every_figure_over_the_seeded_world(
    uow: AnalyticsUnitOfWork, world: AnalyticsWorld
) -> None:
    """One world (it takes seconds to build), every figure checked against it."""
    _the_funnel_counts_members_through_every_stage_before(uow, world)
    _retention_by_sign_up_week(uow, world)
    _participation_per_day(uow, world)
    _liability_is_the_ledger_s_balances(uow, world)
    _reward_cost_leaves_out_cancelled_redemptions(uow, world)
    _a_segment_needs_a_resolver(uow, world)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(grants=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 500)), min_size=1, max_size=4))
def test_liability_equals_the_sum_of_member_balances(
    database: Database, make_user: Callable[..., User], grants: list[tuple[int, int]]
) -> None:
    """Whatever was granted or spent, the liability is the sum of every member's balance."""
    ledger = LedgerUnitOfWork(database.sessions)
    with database.sessions() as session:
        members = list(session.scalars(select(UserRow.id).order_by(UserRow.id).limit(3)))
    while len(members) < 3:
        members.append(make_user().id)
    for who, points in grants:
        account = points_account(members[who])
        request = TransferRequest(f"g:{uuid4().hex}", ISSUANCE, account, POINTS, points, "grant")
        transfer(ledger, request)
    owed = analytics.points_liability(AnalyticsUnitOfWork(database.sessions), points_cny_rate=RATE)
    with database.sessions() as session:
        every = list(session.scalars(select(UserRow.id)))
    balances = [balance(ledger, points_account(m), POINTS) for m in every]
    assert owed.posted == sum(b.posted for b in balances)
    assert owed.spendable == sum(b.available for b in balances)
    assert owed.members == sum(1 for b in balances if b.posted > 0)
