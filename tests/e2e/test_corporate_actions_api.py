"""A member reads their portfolio over HTTP after a 10送3派5: more shares at the same cost,
the dividend in cash, the open order canceled with its reason, and no drop in equity."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from starlette.testclient import TestClient

from core.db import Database
from core.users.model import User
from engine import clock
from engine.trading import services
from engine.uow import EngineUnitOfWork
from tests.corporate_builders import SYMBOL, contest_on_it, install_market


def test_a_members_portfolio_after_a_split(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    install_market(uow)
    contest_id = contest_on_it(uow)
    member = make_user()
    services.open_account(uow, contest_id, member.id)
    headers = login(member)
    url = f"/v1/contests/{contest_id}"
    clock.advance_clock(uow, contest_id)
    buy = {"symbol": SYMBOL, "side": "buy", "qty": "1000"}
    assert client.post(f"{url}/orders", json=buy, headers=headers).status_code == 201
    clock.advance_clock(uow, contest_id)
    resting = client.post(
        f"{url}/orders",
        json=buy | {"qty": "100", "type": "limit", "limit_price": "12.50", "time_in_force": "gtc"},
        headers=headers,
    ).json()
    before = client.get(f"{url}/account", headers=headers).json()
    [held] = client.get(f"{url}/positions", headers=headers).json()

    clock.advance_clock(uow, contest_id)  # the ex-date

    account = client.get(f"{url}/account", headers=headers).json()
    [position] = client.get(f"{url}/positions", headers=headers).json()
    assert position["qty"] == "1300"
    assert Decimal(position["cost_basis"]) == Decimal(held["cost_basis"])
    assert Decimal(account["cash"]) == Decimal(before["cash"]) + Decimal("500")
    assert Decimal(account["equity"]) == Decimal(before["equity"])  # no fake loss
    order = client.get(f"{url}/orders/{resting['id']}", headers=headers).json()
    assert (order["status"], order["reason"]) == ("canceled", "corporate_action")
    history = client.get(f"{url}/portfolio/history", headers=headers).json()
    assert history[-1]["equity"] == history[-2]["equity"]
