"""The folded reads of a check-in batch (ledger.store.checkin_reads) find exactly what the
separate reads they replace find: the check-ins of operation ids, each member's latest
check-in, and the latest level table and earning rules."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from core.users.model import Role, User
from ledger import engagement
from ledger.earning import Award, EarningRules
from ledger.levels import DEFAULT_LEVELS, Level, LevelTable
from ledger.services import LedgerUnitOfWork
from ledger.store import checkin_reads
from ledger.store.checkin_reads import StoredCheckIn, batch_checkins
from ledger.store.engagement import CheckInRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MEMBERS = 3

# Stored check-ins: (member index, day, streak, operation index or None), distinct days per
# member; asked: member indexes and operation indexes (some never stored).
stored = st.lists(
    st.tuples(
        st.integers(0, MEMBERS - 1),
        st.integers(0, 9),
        st.integers(1, 5),
        st.none() | st.integers(0, 5),
    ),
    max_size=12,
    unique_by=(lambda c: (c[0], c[1]), lambda c: -1 if c[3] is None else c[3]),
)
asked_members = st.lists(st.integers(0, MEMBERS), max_size=5)  # MEMBERS: has none stored
asked_operations = st.lists(st.integers(0, 7), max_size=5)


@pytest.fixture
def people(make_user: Callable[..., User]) -> list[int]:
    """MEMBERS users who check in, and one who never does."""
    return [make_user().id for _ in range(MEMBERS + 1)]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=stored, members=asked_members, operations=asked_operations)
def test_a_batch_reads_in_one_statement_what_two_reads_find(
    ledger_uow: LedgerUnitOfWork,
    people: list[int],
    rows: list[tuple[int, int, int, int | None]],
    members: list[int],
    operations: list[int],
) -> None:
    with ledger_uow:
        ledger_uow.session.execute(delete(CheckInRow))
        for member, day, streak, operation in rows:
            ledger_uow.session.add(
                CheckInRow(
                    member_id=people[member],
                    local_date=(date(2026, 3, 1) + timedelta(days=day)).isoformat(),
                    streak=streak,
                    points=10 * streak,
                    xp=5 * streak,
                    created_at=T0 + timedelta(days=day),
                    operation_id=None if operation is None else f"op:{operation}",
                )
            )
        ledger_uow.commit()
    member_ids = [people[m] for m in members]
    operation_ids = [f"op:{o}" for o in operations]
    with ledger_uow.reading():
        folded = batch_checkins(ledger_uow.session, member_ids, operation_ids)
        by_operation = ledger_uow.engagement.checkins_by_operations(operation_ids)
        latest = ledger_uow.engagement.last_checkins(list(dict.fromkeys(member_ids)))
        expected = {
            key: StoredCheckIn(*(getattr(row, name) for name in StoredCheckIn._fields))
            for key, row in by_operation.items()
        }
    assert folded.by_operation == expected
    assert folded.latest == latest
    with patch.object(checkin_reads, "MAX_MEMBERS_AT_ONCE", 2), ledger_uow.reading():
        assert batch_checkins(ledger_uow.session, member_ids, operation_ids) == folded  # chunks


def test_the_programme_in_one_statement_is_the_latest_of_each(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    def programme() -> tuple[EarningRules, LevelTable]:
        with ledger_uow.reading():
            return engagement.current_programme(ledger_uow)

    assert programme() == (EarningRules(), DEFAULT_LEVELS)
    operator = make_user(Role.OPERATOR)
    for version, points in enumerate((10, 20, 30), start=1):
        engagement.set_earning_rules(
            ledger_uow, EarningRules(checkin=Award(points, 1)), operator_id=operator.id
        )
        assert programme()[0].checkin == Award(points, 1)
        assert programme()[0].version == version
    levels = [Level(1, "New", 0), Level(2, "Pro", 40)]
    engagement.set_levels(ledger_uow, levels, operator_id=operator.id)
    rules, table = programme()
    with ledger_uow.reading():
        apart = (engagement.current_rules(ledger_uow), engagement.current_levels(ledger_uow))
    assert (rules, table) == apart
    assert table.version == 1 and rules.version == 3 and table.levels == tuple(levels)
