"""Concurrent orders from one account on PostgreSQL: buying power is never double-spent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from core.db import Database
from core.users import services as users
from core.users.model import Role
from core.users.services import UsersUnitOfWork
from engine import clock
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.trading import order_desk, services, views
from engine.trading.admission import OrderRefused
from engine.trading.orders import OrderStatus
from engine.uow import EngineUnitOfWork
from tests.concurrency import race
from tests.engine_builders import request

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def test_concurrent_orders_never_spend_the_same_buying_power(pg_database: Database) -> None:
    uow = EngineUnitOfWork(pg_database.sessions)
    instruments = install_synthetic(
        uow, Market.US, count=2, seed=5, start=date(2024, 1, 1), days=10
    )  # type: ignore[arg-type]
    symbol = instruments[0].symbol
    venue = services.create_venue(
        uow,
        title="race",
        market=Market.US,
        universe=[symbol],
        starting_cash=Decimal(10_000),
        trading_start=date(2024, 1, 1),
        trading_end=date(2024, 1, 12),
    )
    member = users.create_user(
        UsersUnitOfWork(pg_database.sessions),
        username="racer",
        password="a long password",
        roles=(Role.MEMBER,),
    )
    services.open_account(uow, venue.contest_id, member.id)
    clock.advance_clock(uow, venue.contest_id)
    close = services.visible_bars(uow, symbol, start=date(2024, 1, 1), end=date(2024, 1, 1))[
        0
    ].close
    # Each order reserves about 30% of the cash: at most three can be open at once.
    qty = (Decimal(3_000) / (close * Decimal("1.1"))).quantize(Decimal(1))
    order = request(symbol=symbol, qty=str(qty), tif="gtc")

    outcomes = race(
        10,
        lambda i: order_desk.place_order(
            EngineUnitOfWork(pg_database.sessions), venue.contest_id, member.id, order
        ),
    )
    accepted = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, OrderRefused)]
    assert len(accepted) == 3 and len(refused) == 7, outcomes
    assert all(o.status is OrderStatus.NEW for o in accepted)
    summary = views.account_summary(uow, venue.contest_id, member.id)
    assert summary.buying_power >= 0
    assert summary.reserved_cash == sum(o.reserved_cash for o in accepted)
