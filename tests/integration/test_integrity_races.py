"""The review queue from many threads at once on PostgreSQL: a finding becomes one case, and a
case gets one decision."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.db import Database
from core.integrity.model import ClientSignal
from core.users import services as users
from core.users.services import UsersUnitOfWork
from engine.integrity import services as integrity
from engine.integrity.model import Decision
from engine.integrity.services import CaseDecided
from engine.uow import EngineUnitOfWork
from tests.concurrency import race
from tests.conftest import PASSWORD

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (overrides the two-backend fixture)."""
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _pair_on_one_device(database: Database) -> None:
    for name in ("dora", "dirk"):
        users.sign_up(
            UsersUnitOfWork(database.sessions),
            username=name,
            password=PASSWORD,
            display_name=name,
            signal=ClientSignal(device_id="one-tablet"),
        )


def test_concurrent_scans_open_each_case_once(database: Database) -> None:
    _pair_on_one_device(database)
    outcomes = race(4, lambda i: integrity.scan(EngineUnitOfWork(database.sessions)))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(len(o.opened) for o in outcomes) == 1
    cases, _ = integrity.list_cases(EngineUnitOfWork(database.sessions), after=None, limit=50)
    assert len(cases) == 1


def test_concurrent_decisions_one_wins_the_rest_conflict_or_replay(database: Database) -> None:
    _pair_on_one_device(database)
    case = integrity.scan(EngineUnitOfWork(database.sessions)).opened[0]
    decisions = [Decision.SAME_PERSON, Decision.DISTINCT] * 3
    outcomes = race(
        6,
        lambda i: integrity.decide(
            EngineUnitOfWork(database.sessions),
            case.id,
            decision=decisions[i],
            reason=f"operator {i}",
            operator_id=i + 1,
        ),
    )
    decided = integrity.get_case(EngineUnitOfWork(database.sessions), case.id)
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    conflicts = [o for o in outcomes if isinstance(o, CaseDecided)]
    assert len(winners) + len(conflicts) == 6, outcomes
    assert len(conflicts) == 3  # every thread with the other decision
    assert all(w.status.value == decided.status.value for w in winners)
    assert all(w == decided for w in winners)  # the replays return the first decision as is
    person = integrity.person_of(EngineUnitOfWork(database.sessions), case.member_ids[1])
    linked = decided.status.value == "same_person"
    assert person.member_ids == (case.member_ids if linked else (case.member_ids[1],))


def test_concurrent_links_sharing_an_account_make_one_person(database: Database) -> None:
    for name in ("erin", "emil", "eddy", "ezra"):
        users.sign_up(
            UsersUnitOfWork(database.sessions),
            username=name,
            password=PASSWORD,
            display_name=name,
            signal=ClientSignal(device_id="family-pc"),
        )
    cases = integrity.scan(EngineUnitOfWork(database.sessions)).opened
    assert len(cases) == 6  # every pair of four
    outcomes = race(
        6,
        lambda i: integrity.decide(
            EngineUnitOfWork(database.sessions),
            cases[i].id,
            decision=Decision.SAME_PERSON,
            reason="one household account holder",
            operator_id=1,
        ),
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    members = tuple(sorted({m for case in cases for m in case.member_ids}))
    for member in members:
        person = integrity.person_of(EngineUnitOfWork(database.sessions), member)
        assert person == integrity.Person(members[0], members)
