"""Settlement over HTTP: an operator settles a finished contest, members see their prizes in
``/v1/me/points``; a second settlement pays nothing more."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.uow import EngineUnitOfWork
from tests.contest_builders import DISCLOSURES_JSON

START = date(2024, 1, 1)


@pytest.fixture
def symbols(database: Database) -> list[str]:
    uow = EngineUnitOfWork(database.sessions)
    instruments = install_synthetic(uow, Market.CN, count=3, seed=11, start=START, days=15)  # type: ignore[arg-type]
    return [i.symbol for i in instruments]


def finished_contest(
    client: TestClient, operator: dict[str, str], symbols: list[str], members: list[dict[str, str]]
) -> int:
    """A contest with a ticket for rank 1 and points for ranks 2-3: the first member trades,
    the others do not; the clock is run to the end."""
    reward = {"key": "salon-ticket", "name": "Salon ticket", "cost_points": 10_000, "stock": 5}
    assert client.post("/v1/admin/rewards", json=reward, headers=operator).status_code == 201
    today = date.today()
    season = client.post(
        "/v1/admin/seasons",
        json={
            "name": "Spring",
            "timezone": "Asia/Shanghai",
            "starts_on": str(today - timedelta(days=1)),
            "ends_on": str(today + timedelta(days=365)),
            "market": "CN",
            "universe": symbols,
            "replay_start": "2024-01-01",
            "replay_end": "2024-01-19",
        },
        headers=operator,
    )
    assert season.status_code == 201, season.text
    contest = client.post(
        "/v1/admin/contests",
        json={
            "season_id": season.json()["id"],
            "title": "Ticket cup",
            "trading_start": "2024-01-01",
            "trading_end": "2024-01-19",
            "starting_cash": "1000000.00",
            "prizes": [
                {"ranks": [1, 1], "points": 500, "xp": 200, "item_key": "salon-ticket"},
                {"ranks": [2, 3], "points": 50},
            ],
            "disclosures": DISCLOSURES_JSON,
        },
        headers=operator,
    )
    assert contest.status_code == 201, contest.text
    contest_id: int = contest.json()["id"]
    for member in members:
        joined = client.post(f"/v1/contests/{contest_id}/entries", json={}, headers=member)
        assert joined.status_code == 201, joined.text
    clock = f"/v1/admin/contests/{contest_id}/clock"
    assert client.post(clock, json={"bars": 1}, headers=operator).status_code == 200
    order = {"symbol": symbols[0], "side": "buy", "qty": "5000"}
    placed = client.post(f"/v1/contests/{contest_id}/orders", json=order, headers=members[0])
    assert placed.status_code == 201, placed.text
    ran = client.post(clock, json={"bars": 100}, headers=operator)
    assert ran.status_code == 200 and ran.json()["finished"], ran.text
    return contest_id


def test_settlement_pays_points_xp_and_tickets_once(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    people = [make_user() for _ in range(3)]
    members = [login(person) for person in people]
    contest_id = finished_contest(client, operator, symbols, members)
    settle = f"/v1/admin/contests/{contest_id}/settlement"

    settled = client.post(settle, headers=operator)

    assert settled.status_code == 200, settled.text
    report = settled.json()
    assert report["settled"] and report["refused"] == [] and report["prizes"] == 3
    listed = client.get(f"/v1/contests/{contest_id}/prizes", headers=members[1])
    assert listed.status_code == 200, listed.text
    prizes = {p["member_id"]: p for p in listed.json()["prizes"]}
    assert set(prizes) == {p.id for p in people}
    assert all(p["paid"] for p in prizes.values())
    for person, headers in zip(people, members, strict=True):
        won = prizes[person.id]
        points = client.get("/v1/me/points", headers=headers).json()
        ticket = {"salon-ticket": 1} if won["item_key"] else {}
        assert (points["balance"], points["lifetime_xp"], points["items"]) == (
            won["points"],
            won["xp"],
            ticket,
        )
    assert report["totals"]["ITEM:salon-ticket"] == sum(1 for p in prizes.values() if p["item_key"])

    again = client.post(settle, headers=operator).json()
    assert (again["paid_now"], again["already_paid"]) == (0, 3)
    assert (
        client.get("/v1/me/points", headers=members[2]).json()["balance"]
        == (prizes[people[2].id]["points"])
    )
    assert client.get(f"/v1/contests/{contest_id}", headers=members[0]).json()["state"] == (
        "settled"
    )


def test_settlement_refusals_are_problems(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    member = login(make_user())
    today = date.today()
    season_id = client.post(
        "/v1/admin/seasons",
        json={
            "name": "Spring",
            "timezone": "Asia/Shanghai",
            "starts_on": str(today - timedelta(days=1)),
            "ends_on": str(today + timedelta(days=365)),
            "market": "CN",
            "universe": symbols,
            "replay_start": "2024-01-01",
            "replay_end": "2024-01-19",
        },
        headers=operator,
    ).json()["id"]
    body: dict[str, Any] = {
        "season_id": season_id,
        "title": "Cup",
        "trading_start": "2024-01-01",
        "trading_end": "2024-01-19",
        "starting_cash": "1000000.00",
        "prizes": [{"ranks": [1, 1], "points": 5}],
        "disclosures": DISCLOSURES_JSON,
    }
    contest_id = client.post("/v1/admin/contests", json=body, headers=operator).json()["id"]
    settle = f"/v1/admin/contests/{contest_id}/settlement"

    early = client.post(settle, headers=operator)
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")
    assert early.json()["rule"] == "not_finished"
    assert client.post(settle, headers=member).status_code == 403
    assert client.post("/v1/admin/contests/999999/settlement", headers=operator).status_code == 404
    unpublished = client.get(f"/v1/contests/{contest_id}/prizes", headers=member)
    assert unpublished.status_code == 409 and unpublished.json()["rule"] == "not_settled"
    assert client.get(f"/v1/contests/{contest_id}/prizes", headers=operator).json()["prizes"] == []
    assert client.get("/v1/contests/999999/prizes", headers=member).status_code == 404
