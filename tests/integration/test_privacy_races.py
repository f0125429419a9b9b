"""Consents and erasure under real concurrency on PostgreSQL: one acceptance per version, one
version number per publication, one erasure per member."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api import privacy
from core.db import Database
from core.privacy import services
from core.privacy.model import ConsentKind
from core.privacy.services import PrivacyUnitOfWork
from core.users.model import Role
from tests.check_world import add_user
from tests.concurrency import race

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _uow(database: Database) -> PrivacyUnitOfWork:
    return PrivacyUnitOfWork(database.sessions)


def test_concurrent_publications_get_consecutive_versions(pg: Database) -> None:
    operator = add_user(pg, "op", Role.OPERATOR)
    results = race(
        8,
        lambda i: services.publish_document(
            _uow(pg), ConsentKind.TERMS, title="Terms", body=f"v{i}", operator_id=operator.id
        ),
    )
    assert sorted(d.version for d in results) == list(range(1, 9)), results


def test_concurrent_acceptances_record_one(pg: Database) -> None:
    operator, member = add_user(pg, "op", Role.OPERATOR), add_user(pg, "member")
    services.publish_document(
        _uow(pg), ConsentKind.TERMS, title="Terms", body="v1", operator_id=operator.id
    )
    results = race(
        8, lambda _: services.accept(_uow(pg), member.id, ConsentKind.TERMS, version=1)
    )
    assert len({r.id for r in results}) == 1, results
    assert len(services.consent_history(_uow(pg), member.id)) == 1


def test_concurrent_erasures_erase_once(pg: Database) -> None:
    operator, member = add_user(pg, "op", Role.OPERATOR), add_user(pg, "member")
    results = race(
        4,
        lambda _: privacy.erase(_uow(pg), member.id, operator_id=operator.id, reason="asked"),
    )
    assert sorted(r.already_erased for r in results) == [False, True, True, True], results
    assert len(services.erasure_requests(_uow(pg), status="erased")) == 1
