"""A hypothesis state machine drives random ledger traffic and checks the invariants after
every step: each asset sums to zero, no member account is negative, stored balances equal the
replay of the transfers (and the hash chain holds), idempotent replays change nothing, and a
member's level never falls as XP accrues (even when an XP grant is reversed)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from core.db import Database
from core.errors import DomainError
from ledger import engagement, services
from ledger.model import (
    ISSUANCE,
    POINTS,
    REDEEMED,
    XP,
    ResolvePending,
    TransferRequest,
    may_go_negative,
    points_account,
    xp_account,
)
from ledger.services import LedgerUnitOfWork

MEMBERS = [1, 2, 3]
amounts = st.integers(min_value=1, max_value=500)


def run_machine(databases: object) -> None:
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.url = databases.migrated()  # type: ignore[attr-defined]
            self.database = Database.connect(self.url)
            self.uow = LedgerUnitOfWork(self.database.sessions)
            self.now = datetime(2026, 1, 1, tzinfo=UTC)
            self.counter = 0
            self.done: list[object] = []  # requests that succeeded, for replays
            self.holds: list[str] = []
            self.posted: list[str] = []
            self.levels = dict.fromkeys(MEMBERS, 1)

        def teardown(self) -> None:
            self.database.dispose()
            databases.drop(self.url)  # type: ignore[attr-defined]

        def _id(self, prefix: str) -> str:
            self.counter += 1
            return f"{prefix}-{self.counter}"

        def _submit(self, requests: list) -> bool:
            try:
                services.submit(self.uow, requests, now=self.now)
            except DomainError:
                return False
            self.done.append(requests)
            return True

        @rule(member=st.sampled_from(MEMBERS), amount=amounts, xp=st.booleans())
        def grant(self, member: int, amount: int, xp: bool) -> None:
            account, asset = (xp_account(member), XP) if xp else (points_account(member), POINTS)
            tid = self._id("grant")
            if self._submit([TransferRequest(tid, ISSUANCE, account, asset, amount, "grant")]):
                self.posted.append(tid)

        def _spend(self, member: int, amount: int) -> TransferRequest:
            account = points_account(member)
            return TransferRequest(
                self._id("spend"), account, REDEEMED, POINTS, amount, "redemption"
            )

        @rule(member=st.sampled_from(MEMBERS), amount=amounts)
        def spend(self, member: int, amount: int) -> None:
            request = self._spend(member, amount)
            if self._submit([request]):
                self.posted.append(request.id)

        @rule(a=st.sampled_from(MEMBERS), b=st.sampled_from(MEMBERS), x=amounts, y=amounts)
        def linked_pair(self, a: int, b: int, x: int, y: int) -> None:
            """Two spends that must both succeed or both fail."""
            before = [services.balance(self.uow, points_account(m), POINTS) for m in (a, b)]
            ok = self._submit([self._spend(a, x), self._spend(b, y)])
            if not ok:
                after = [services.balance(self.uow, points_account(m), POINTS) for m in (a, b)]
                assert after == before

        @rule(member=st.sampled_from(MEMBERS), amount=amounts, timeout=st.integers(1, 7200))
        def hold(self, member: int, amount: int, timeout: int) -> None:
            tid = self._id("hold")
            request = TransferRequest(
                tid,
                points_account(member),
                REDEEMED,
                POINTS,
                amount,
                "hold",
                pending=True,
                timeout_seconds=timeout,
            )
            if self._submit([request]):
                self.holds.append(tid)

        @rule(data=st.data(), post=st.booleans(), part=st.integers(1, 500))
        def resolve(self, data: st.DataObject, post: bool, part: int) -> None:
            if not self.holds:
                return
            hold = data.draw(st.sampled_from(self.holds))
            tid = self._id("post" if post else "void")
            amount = part if post and data.draw(st.booleans()) else None
            if self._submit([ResolvePending(tid, hold, post=post, amount=amount)]) and post:
                self.posted.append(tid)

        @rule(seconds=st.integers(0, 5000))
        def advance_and_expire(self, seconds: int) -> None:
            self.now += timedelta(seconds=seconds)
            services.expire_holds(self.uow, now=self.now)

        @rule(data=st.data())
        def reverse(self, data: st.DataObject) -> None:
            if not self.posted:
                return
            try:
                services.reverse(self.uow, data.draw(st.sampled_from(self.posted)), now=self.now)
            except DomainError:
                pass

        @rule(days=st.integers(0, 3))
        def expire_points(self, days: int) -> None:
            self.now += timedelta(days=1)
            services.expire_points(self.uow, days=days, now=self.now)

        @rule(data=st.data())
        def replay(self, data: st.DataObject) -> None:
            if not self.done:
                return
            requests = data.draw(st.sampled_from(self.done))
            before = services.trial_balance(self.uow).accounts
            count = services.verify(self.uow).transfers
            services.submit(self.uow, requests, now=self.now + timedelta(days=9))
            assert services.trial_balance(self.uow).accounts == before
            assert services.verify(self.uow).transfers == count

        @invariant()
        def levels_never_fall(self) -> None:
            for member in MEMBERS:
                level = engagement.points_summary(self.uow, member).level.number
                assert level >= self.levels[member]
                self.levels[member] = level

        @invariant()
        def ledger_is_sound(self) -> None:
            report = services.verify(self.uow)
            assert report.ok, report.errors
            trial = services.trial_balance(self.uow)
            assert trial.balanced, trial.totals
            for (account, _), balance in trial.accounts.items():
                if not may_go_negative(account):
                    assert balance.available >= 0 and balance.posted >= 0

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_ledger_traffic_keeps_every_invariant(
    request: pytest.FixtureRequest, backend: str
) -> None:
    name = "sqlite_databases" if backend == "sqlite" else "postgres_databases"
    run_machine(request.getfixturevalue(name))
