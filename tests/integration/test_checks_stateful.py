"""A hypothesis state machine interleaves contest entries, orders, clock ticks and check-ins on
one database and runs the whole check registry after every step: whatever the traffic, the
stored books, leaderboard state and snapshots, ledger and streaks equal their derivations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from api.checks import run_checks
from contracts.checks import CheckContext
from core.db import Database
from core.errors import DomainError
from core.users.model import Role
from engine import clock
from engine.contests import entries
from engine.contests.spec import Qualification
from engine.trading import order_desk
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.services import LedgerUnitOfWork
from tests import contest_builders as build
from tests.check_world import CHECK_INS_FROM, add_user, failed
from tests.contest_builders import NOW
from tests.engine_builders import request

MEMBERS = 4
members = st.integers(0, MEMBERS - 1)


def run_machine(databases: object) -> None:
    class ContestTraffic(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.url = databases.migrated()  # type: ignore[attr-defined]
            self.database = Database.connect(self.url)
            self.uow = EngineUnitOfWork(self.database.sessions)
            self.ledger = LedgerUnitOfWork(self.database.sessions)
            operator = add_user(self.database, "operator", Role.OPERATOR)
            season = build.season(self.uow, operator, days=16, count=3)
            self.contest = build.contest(
                self.uow, season, qualification=Qualification(min_trades=1)
            )
            self.symbols = list(self.contest.universe)
            self.member_ids = [add_user(self.database, f"m{i}").id for i in range(MEMBERS)]
            self.now = CHECK_INS_FROM
            self.context = CheckContext(self.database.sessions)

        def teardown(self) -> None:
            self.database.dispose()
            databases.drop(self.url)  # type: ignore[attr-defined]

        @rule(member=members)
        def join(self, member: int) -> None:
            try:
                entries.join_contest(self.uow, self.contest.id, self.member_ids[member], now=NOW)
            except DomainError:  # already in, or entries closed
                pass

        @rule(
            member=members,
            symbol=st.integers(0, 2),
            side=st.sampled_from(["buy", "sell"]),
            lots=st.integers(1, 30),
        )
        def order(self, member: int, symbol: int, side: str, lots: int) -> None:
            wanted = request(side, symbol=self.symbols[symbol], qty=str(lots * 100))
            try:
                order_desk.place_order(self.uow, self.contest.id, self.member_ids[member], wanted)
            except DomainError:  # not entered, too little cash or stock, the market rules
                pass

        @rule(bars=st.integers(1, 2))
        def tick(self, bars: int) -> None:
            clock.advance_clock(self.uow, self.contest.id, bars=bars, now=NOW)

        @rule(member=members, days_later=st.integers(0, 2))
        def check_in(self, member: int, days_later: int) -> None:
            self.now += timedelta(days=days_later)  # 0: the same day again, 2: a gap
            try:
                engagement.check_in(self.ledger, self.member_ids[member], now=self.now)
            except engagement.AlreadyCheckedIn:
                pass

        @invariant()
        def every_check_holds(self) -> None:
            report = run_checks(self.context)
            assert report.ok, failed(report)

    run_state_machine_as_test(
        ContestTraffic,
        settings=settings(
            max_examples=6,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_contest_traffic_keeps_every_check(
    request: pytest.FixtureRequest, backend: str
) -> None:
    name = "sqlite_databases" if backend == "sqlite" else "postgres_databases"
    run_machine(request.getfixturevalue(name))
