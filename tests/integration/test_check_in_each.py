"""``check_in_each`` over a batch answers and pays exactly as ``check_in`` one call at a time.

Two worlds of members live through the same history: one checks in call by call, the other in
batches of the same requests. Each example starts ten days after the previous one, so both
worlds carry the same XP (and level multiplier) and streak state into it.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.users.model import Role, User
from ledger import engagement, services
from ledger.earning import Award, EarningRules
from ledger.engagement import AlreadyCheckedIn, CheckInOutcome
from ledger.levels import Level, Privileges
from ledger.model import POINTS, XP, points_account, xp_account
from ledger.services import LedgerUnitOfWork

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MEMBERS = 4

# A request: (member index, operation index or None); a batch: (days after the last, requests).
requests = st.tuples(st.integers(0, MEMBERS - 1), st.none() | st.integers(0, 2))
batches = st.lists(
    st.tuples(st.integers(0, 2), st.lists(requests, min_size=1, max_size=6)),
    min_size=1,
    max_size=4,
)


@pytest.fixture
def worlds(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> tuple[list[int], list[int]]:
    operator = make_user(Role.OPERATOR)
    engagement.set_levels(
        ledger_uow,
        [
            Level(1, "New", 0),
            Level(2, "Pro", 25, Privileges(points_multiplier=Decimal("1.5"))),
            Level(3, "Star", 70, Privileges(points_multiplier=Decimal("2"))),
        ],
        operator_id=operator.id,
    )
    engagement.set_earning_rules(
        ledger_uow,
        EarningRules(checkin=Award(10, 10), streak_bonuses={2: Award(5, 5), 3: Award(30, 10)}),
        operator_id=operator.id,
    )
    return [make_user().id for _ in range(MEMBERS)], [make_user().id for _ in range(MEMBERS)]


def _seen(outcome: CheckInOutcome | Exception, members: list[int]) -> tuple[object, ...]:
    """An outcome with the member named by index, so the two worlds compare."""
    if isinstance(outcome, AlreadyCheckedIn):
        return ("already", outcome.detail, outcome.extensions)
    assert not isinstance(outcome, Exception), outcome
    return (
        members.index(outcome.member_id),
        outcome.local_date,
        outcome.streak,
        outcome.points,
        outcome.xp,
        outcome.created_at,
    )


def _state(uow: LedgerUnitOfWork, members: list[int]) -> list[tuple[int, int]]:
    return [
        (
            services.balance(uow, points_account(m), POINTS).available,
            services.balance(uow, xp_account(m), XP).available,
        )
        for m in members
    ]


def test_a_batch_is_the_calls_one_after_another(
    ledger_uow: LedgerUnitOfWork, worlds: tuple[list[int], list[int]]
) -> None:
    alone, together = worlds
    examples = count()

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(batches)
    def check(history: list[tuple[int, list[tuple[int, int | None]]]]) -> None:
        example = next(examples)
        moment = T0 + timedelta(days=10 * example)
        for days, batch in history:
            moment += timedelta(days=days, minutes=1)

            def operation(world: str, member: int, op: int | None) -> str | None:
                return None if op is None else f"{world}:{example}:{member}:{op}"

            one_by_one: list[CheckInOutcome | Exception] = []
            for m, op in batch:
                try:
                    one_by_one.append(
                        engagement.check_in(
                            ledger_uow, alone[m], now=moment, operation_id=operation("a", m, op)
                        )
                    )
                except AlreadyCheckedIn as refusal:
                    one_by_one.append(refusal)
            batched = engagement.check_in_each(
                ledger_uow,
                [(together[m], operation("b", m, op)) for m, op in batch],
                now=moment,
            )
            assert [_seen(o, together) for o in batched] == [_seen(o, alone) for o in one_by_one]
        assert _state(ledger_uow, together) == _state(ledger_uow, alone)

    check()
    assert services.verify(ledger_uow).ok


def test_a_later_day_from_another_time_zone_does_not_hide_today(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    """The batch learns who checked in today from each member's latest check-in; a programme
    time zone moved west can make that a later day, and today's check-in is still found."""
    operator, member = make_user(Role.OPERATOR), make_user().id
    moment = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 2 March in Shanghai, 1 March in New York

    def rules(timezone: str) -> None:
        engagement.set_earning_rules(
            ledger_uow,
            EarningRules(timezone=timezone, checkin=Award(10, 10)),
            operator_id=operator.id,
        )

    rules("America/New_York")
    (first,) = engagement.check_in_each(ledger_uow, [(member, None)], now=moment)
    rules("Asia/Shanghai")
    (later,) = engagement.check_in_each(ledger_uow, [(member, None)], now=moment)
    rules("America/New_York")
    (again,) = engagement.check_in_each(ledger_uow, [(member, None)], now=moment)

    assert isinstance(first, engagement.CheckIn) and first.local_date == "2026-03-01"
    assert isinstance(later, engagement.CheckIn) and later.local_date == "2026-03-02"
    assert isinstance(again, AlreadyCheckedIn)  # 1 March's check-in, behind 2 March's
