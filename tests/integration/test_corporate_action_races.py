"""Workers racing the clock over an ex-date on PostgreSQL: the actions are applied once."""

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
from engine.trading import order_desk, services, views
from engine.trading.corporate import applied_history
from engine.uow import EngineUnitOfWork
from tests.concurrency import race
from tests.corporate_builders import EX_DATE, SYMBOL, contest_on_it, install_market
from tests.engine_builders import request

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def test_racing_ticks_over_an_ex_date_apply_each_action_once(pg_database: Database) -> None:
    uow = EngineUnitOfWork(pg_database.sessions)
    install_market(uow)
    contest = contest_on_it(uow)
    member = users.create_user(
        UsersUnitOfWork(pg_database.sessions),
        username="holder",
        password="a long password",
        roles=(Role.MEMBER,),
    )
    services.open_account(uow, contest, member.id)
    clock.advance_clock(uow, contest)
    order_desk.place_order(uow, contest, member.id, request(symbol=SYMBOL, qty="1000"))
    clock.advance_clock(uow, contest, until=date(2024, 1, 3))
    cash = views.account_summary(uow, contest, member.id).cash

    results = race(
        4,
        lambda _: clock.advance_clock(
            EngineUnitOfWork(pg_database.sessions), contest, bars=2, until=EX_DATE
        ),
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(len(r.days) for r in results) == [0, 0, 0, 1]  # one worker revealed it
    assert views.account_summary(uow, contest, member.id).cash == cash + Decimal("500.00")
    assert [p.qty for p in views.positions(uow, contest, member.id)] == [1300]
    with uow.reading():
        [account] = uow.trading.accounts(contest)
        assert len(applied_history(uow, account.id)) == 2  # the dividend and the split
    assert services.check_books(uow, contest) == []
