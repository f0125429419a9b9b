"""Statements per request on the hot write paths, counted on the app's engine: a ceiling each,
so a change that adds round trips (a second chain-head lock, a level table read twice) fails
here rather than only in `make bench`'s served figures."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from starlette.testclient import TestClient

from core.db import Database
from core.privacy import services as privacy
from core.privacy.model import ConsentKind
from core.privacy.services import PrivacyUnitOfWork
from core.users.model import Role, User
from tests.e2e.test_trading_api import contest, entered  # noqa: F401 (fixture)

# 150 XP crosses a level: one more statement, the level.up outbox event's INSERT.
# Each includes the consent gate before a member's first write (one statement: core.privacy;
# none while no terms are published and the process knows it).
# The lock, with the members' XP; the batch's check-ins (by operation id and each member's
# latest) in one read, the level table and earning rules in one; the check-in's INSERT; the
# ledger's read and its write, in one statement on PostgreSQL (9 in all, the COMMIT pipelined
# with the write when no level is crossed) and three on SQLite (11).
CHECK_IN_CEILING = 11
PLACE_ORDER_CEILING = 11


def _consent_gate(statements: list[str]) -> list[str]:
    return [s for s in statements if "consent_" in s]


@contextmanager
def _statements(app: FastAPI) -> Iterator[list[str]]:
    """Every statement the app's engine sends meanwhile (SQLite's BEGINs left out: PostgreSQL
    sends none through the cursor)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    engine = app.state.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _head_reads(statements: list[str]) -> list[str]:
    """Statements that read (and lock) ledger shard heads: on their own, or as the first CTE
    of the ledger's locking read (``ledger.store.prefetch``)."""
    return [s for s in statements if re.search(r"SELECT [^()]*FROM ledger_heads\b", s)]


def _reading(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and f"FROM {table} " in s + " "]


def test_a_check_in_locks_the_ledger_once_and_stays_under_its_ceiling(
    app: FastAPI,
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator, member, earlier = make_user(Role.OPERATOR), make_user(), make_user()
    rules = {"timezone": "Asia/Shanghai", "checkin": {"points": 10, "xp": 150}}
    assert client.put("/v1/admin/earning-rules", headers=login(operator), json=rules).is_success
    headers = login(member)
    client.post("/v1/me/check-ins", headers=login(earlier))  # the balances' rows exist

    with _statements(app) as statements:
        checked = client.post("/v1/me/check-ins", headers=headers)
    assert checked.status_code == 201, checked.text
    # One lock statement, on the member's shard heads (ledger_heads since the shard chains).
    assert len(_head_reads(statements)) == 1, statements
    assert len(_reading(statements, "ledger_level_tables")) == 1, statements
    assert len(_reading(statements, "ledger_earning_rules")) == 1, statements
    assert sum(s.startswith("INSERT INTO outbox_events") for s in statements) == 1
    # No terms are published, and the principal cache keeps that since ``earlier``'s write:
    # this member's first write reads no consent row.
    assert not _consent_gate(statements), statements
    assert len(statements) <= CHECK_IN_CEILING, "\n".join(statements)


def test_with_terms_published_a_first_write_reads_the_members_standing_once(
    app: FastAPI,
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator, member, earlier = make_user(Role.OPERATOR), make_user(), make_user()
    privacy.publish_document(
        PrivacyUnitOfWork(database.sessions),
        ConsentKind.TERMS,
        title="Terms",
        body="Be nice.",
        operator_id=operator.id,
    )
    for user in (earlier, member):
        accepted = client.post(
            "/v1/me/consents", json={"kind": "terms", "version": 1}, headers=login(user)
        )
        assert accepted.is_success, accepted.text
    headers = login(member)
    assert client.post("/v1/me/check-ins", headers=login(earlier)).status_code == 201

    with _statements(app) as statements:
        checked = client.post("/v1/me/check-ins", headers=headers)
    assert checked.status_code == 201, checked.text
    assert len(_consent_gate(statements)) == 1, statements
    assert len(statements) <= CHECK_IN_CEILING, "\n".join(statements)


def test_placing_an_order_stays_under_its_ceiling(
    app: FastAPI,
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    member = make_user()
    entered(database, contest_id, member)
    headers = login(member)
    order = {"symbol": symbols[0], "side": "buy", "qty": "100", "type": "market"}
    assert client.post(f"/v1/contests/{contest_id}/orders", json=order, headers=headers).is_success

    with _statements(app) as statements:
        placed = client.post(f"/v1/contests/{contest_id}/orders", json=order, headers=headers)
    assert placed.status_code == 201, placed.text
    assert sum(s.startswith("INSERT INTO orders") for s in statements) == 1
    # The member's first order passed the consent gate; the principal cache keeps that answer
    # (dropped by any consent change), so this one reads no consent row.
    assert not _consent_gate(statements), statements
    assert len(statements) <= PLACE_ORDER_CEILING, "\n".join(statements)


# Eight check-ins joined by group commit (the service a batch runs, without the request's own
# authentication and consent reads): the statements of one, 7 on PostgreSQL (its COMMIT sent
# in the write's pipeline, counted here) and 8 on SQLite, where eight single check-ins cost
# eight times as many.
CHECK_IN_BATCH_CEILING = 8


def test_a_batch_of_eight_check_ins_costs_about_one(
    app: FastAPI, database: Database, make_user: Callable[..., User]
) -> None:
    from ledger import engagement
    from ledger.services import LedgerUnitOfWork

    members = [make_user().id for _ in range(9)]
    engagement.check_in(LedgerUnitOfWork(database.sessions), members.pop())  # rows exist

    with _statements(app) as statements:
        made = engagement.check_in_each(
            LedgerUnitOfWork(database.sessions), [(m, f"checkin:{m}:k") for m in members]
        )
    assert [c.member_id for c in made if isinstance(c, engagement.CheckIn)] == members
    assert len(_head_reads(statements)) == 1, statements
    assert len(_reading(statements, "ledger_level_tables")) == 1, statements
    assert len(_reading(statements, "ledger_checkins")) == 1, statements
    assert len(statements) <= CHECK_IN_BATCH_CEILING, "\n".join(statements)
