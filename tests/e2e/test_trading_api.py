"""Trading over HTTP: orders in Alpaca's shape, refusals as problem+json, account views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import User
from engine import clock
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.trading import services
from engine.uow import EngineUnitOfWork

START = date(2024, 1, 1)


@pytest.fixture
def contest(database: Database) -> tuple[int, list[str]]:
    uow = EngineUnitOfWork(database.sessions)
    instruments = install_synthetic(uow, Market.CN, count=4, seed=3, start=START, days=20)  # type: ignore[arg-type]
    symbols = [i.symbol for i in instruments]
    venue = services.create_venue(
        uow,
        title="cup",
        market=Market.CN,
        universe=symbols,
        starting_cash=Decimal(500_000),
        trading_start=START,
        trading_end=date(2024, 1, 26),
    )
    clock.advance_clock(uow, venue.contest_id)
    return venue.contest_id, symbols


def entered(database: Database, contest_id: int, user: User) -> None:
    services.open_account(EngineUnitOfWork(database.sessions), contest_id, user.id)


def test_order_lifecycle_over_http(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    member = make_user()
    entered(database, contest_id, member)
    headers = login(member)
    url = f"/v1/contests/{contest_id}"

    refused = client.post(
        f"{url}/orders", json={"symbol": symbols[0], "side": "buy", "qty": "150"}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["field"], refused.json()["rule"]) == ("qty", "lot_size")

    placed = client.post(
        f"{url}/orders",
        json={"symbol": symbols[0], "side": "buy", "qty": "1000", "client_order_id": "my-1"},
        headers=headers,
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (
        order["status"] == "new" and order["qty"] == "1000" and Decimal(order["reserved_cash"]) > 0
    )
    replay = client.post(
        f"{url}/orders",
        json={"symbol": symbols[0], "side": "buy", "qty": "1000", "client_order_id": "my-1"},
        headers=headers,
    )
    assert replay.status_code == 201 and replay.json()["id"] == order["id"]

    limit = client.post(
        f"{url}/orders",
        json={
            "symbol": symbols[1],
            "side": "buy",
            "qty": "100",
            "type": "limit",
            "limit_price": "0.01",
            "time_in_force": "gtc",
        },
        headers=headers,
    )
    assert limit.status_code == 422 and limit.json()["rule"] == "outside_price_band"

    clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id)
    filled = client.get(f"{url}/orders/{order['id']}", headers=headers).json()
    assert filled["status"] == "filled" and filled["filled_avg_price"] is not None
    assert (
        client.get(f"{url}/orders", params={"status": "new"}, headers=headers).json()["items"] == []
    )
    assert [
        o["id"]
        for o in client.get(f"{url}/orders", params={"status": "filled"}, headers=headers).json()[
            "items"
        ]
    ] == [order["id"]]
    assert client.delete(f"{url}/orders/{order['id']}", headers=headers).status_code == 409

    account = client.get(f"{url}/account", headers=headers).json()
    assert Decimal(account["equity"]) == Decimal(account["cash"]) + Decimal(
        account["positions_value"]
    )
    assert account["statistics"]["trade_count"] == 1
    [position] = client.get(f"{url}/positions", headers=headers).json()
    assert position["symbol"] == symbols[0] and position["qty"] == "1000"
    history = client.get(f"{url}/portfolio/history", headers=headers).json()
    assert [p["day"] for p in history] == ["2024-01-02"]  # entered after the first close


def test_others_cannot_see_or_cancel_my_orders(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    alice, bob = make_user(), make_user()
    entered(database, contest_id, alice)
    entered(database, contest_id, bob)
    order = client.post(
        f"/v1/contests/{contest_id}/orders",
        json={"symbol": symbols[0], "side": "buy", "qty": "100", "time_in_force": "gtc"},
        headers=login(alice),
    ).json()
    bob_headers = login(bob)
    assert (
        client.get(
            f"/v1/contests/{contest_id}/orders/{order['id']}", headers=bob_headers
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/v1/contests/{contest_id}/orders/{order['id']}", headers=bob_headers
        ).status_code
        == 404
    )
    outsider = make_user()
    response = client.get(f"/v1/contests/{contest_id}/account", headers=login(outsider))
    assert response.status_code == 404 and response.json()["type"].endswith("not-entered")
    assert client.get(f"/v1/contests/{contest_id}/account").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"side": "buy", "qty": "NaN"}, "qty"),
        ({"side": "buy", "qty": "1e40"}, "qty"),
        ({"side": "hold", "qty": "100"}, "side"),
        ({"side": "buy", "qty": "100", "leverage": 10}, "leverage"),
        ({"side": "buy", "qty": "100", "client_order_id": "has space"}, "client_order_id"),
    ],
)
def test_malformed_orders_are_422_naming_the_field(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
    body: dict,
    field: str,
) -> None:
    contest_id, symbols = contest
    member = make_user()
    entered(database, contest_id, member)
    response = client.post(
        f"/v1/contests/{contest_id}/orders",
        json={"symbol": symbols[0], **body},
        headers=login(member),
    )
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}


def test_market_data_never_shows_bars_past_a_running_contest_clock(
    client: TestClient, contest: tuple[int, list[str]]
) -> None:
    contest_id, symbols = contest
    listed = client.get("/v1/market/instruments", params={"market": "CN", "limit": 2}).json()
    assert len(listed["items"]) == 2 and listed["next_cursor"]
    bars = client.get(f"/v1/market/{symbols[0]}/bars").json()
    assert [b["day"] for b in bars] == ["2024-01-01"]  # the clock has revealed one day of twenty
    assert client.get("/v1/market/NOPE/bars").status_code == 404
