"""Round trips of a batch of orders (``order_desk.place_orders``, what the HTTP route's group
commit runs), on both databases: a ceiling independent of the batch's size, so a change that
reads or writes per order (a re-read of an account, an ORM flush per note, a lookup per
symbol) fails here rather than only in the served figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event

from core.db import Database
from core.errors import NotFound
from core.users.model import User
from engine import clock
from engine.trading import journal, order_desk, services
from engine.trading.admission import OrderRefused
from engine.trading.orders import Order
from engine.uow import EngineUnitOfWork
from tests.engine_builders import request
from tests.integration.test_trading_services import cn_contest, symbols

# Statements through the cursor (SQLite's BEGIN left out; the COMMIT is not a cursor statement
# on either): the venue's columns, the accounts locked with their positions, their open orders
# with the orders the batch's client ids name, the universe's instruments with the clock day's
# closes, the orders' INSERT (RETURNING their ids) and the notes' INSERT. SQLite reads the new
# ids back with one more statement when a batch stores more than one order.
BATCH_CEILING = {"postgresql": 6, "sqlite": 7}


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _count(statements: list[str], prefix: str) -> int:
    return sum(s.startswith(prefix) for s in statements)


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.mark.parametrize("size", [1, 8, 24])
def test_a_batch_of_orders_costs_the_same_statements_whatever_its_size(
    uow: EngineUnitOfWork, database: Database, make_user: Callable[..., User], size: int
) -> None:
    contest = cn_contest(uow)
    members = [make_user() for _ in range(size)]
    for member in members:
        services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    universe = symbols(uow, contest)
    replayed = replace(request(symbol=universe[0]), client_order_id="again")
    first = order_desk.place_orders(uow, contest, [(members[0].id, replayed)])
    assert isinstance(first[0], Order)
    # Every member a new order with a client id and a note, on several symbols; the first
    # member's earlier order replayed, an odd lot refused and an outsider not entered.
    batch = [
        (m.id, replace(request(symbol=universe[i % 3]), client_order_id=f"c-{i}"))
        for i, m in enumerate(members)
    ]
    batch += [
        (members[0].id, replayed),
        (members[-1].id, request(symbol=universe[1], qty="150")),
        (make_user().id, request(symbol=universe[2])),
    ]
    written = [f"note {i}" for i in range(size)]
    notes: list[str | None] = [*written, None, None, None]

    with _statements(database) as statements:
        outcomes = order_desk.place_orders(uow, contest, batch, notes=notes)

    assert all(isinstance(o, Order) for o in outcomes[:size])
    assert outcomes[size] == first[0]
    assert isinstance(outcomes[size + 1], OrderRefused)
    assert isinstance(outcomes[size + 2], NotFound)
    stored = journal.notes_of(uow, [o.id for o in outcomes[:size] if isinstance(o, Order)])
    assert sorted(stored.values()) == sorted(written)
    assert _count(statements, "SELECT trading_accounts") == 1, statements
    assert _count(statements, "SELECT orders.id, orders.contest_id") == 1, statements
    assert _count(statements, "SELECT instruments") == 1, statements
    assert _count(statements, "INSERT INTO orders") == 1, statements
    assert _count(statements, "INSERT INTO order_notes") == 1, statements
    dialect = database.engine.dialect.name
    ceiling = BATCH_CEILING[dialect] - (1 if dialect == "sqlite" and size == 1 else 0)
    assert len(statements) <= ceiling, "\n".join(statements)


def test_the_venue_follows_its_contests_overrides(
    uow: EngineUnitOfWork, database: Database, make_user: Callable[..., User]
) -> None:
    """The rule pack is shared between contests with the same overrides, never kept past a
    change of them: a tightened lot size refuses the order the default lot admitted."""
    contest = cn_contest(uow)
    other = cn_contest(uow)
    assert services.venue(uow, contest).rules is services.venue(uow, other).rules
    member = make_user()
    services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    symbol = symbols(uow, contest)[0]
    placed = order_desk.place_orders(uow, contest, [(member.id, request(symbol=symbol))])
    assert isinstance(placed[0], Order)
    with uow:
        row = uow.trading.contest(contest)
        assert row is not None
        row.rule_overrides = {"lot_size": 1000}
        uow.commit()
    assert services.venue(uow, contest).rules.lot_size == 1000
    refused = order_desk.place_orders(uow, contest, [(member.id, request(symbol=symbol))])
    assert isinstance(refused[0], OrderRefused)
