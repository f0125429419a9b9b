"""A small populated PaperLeague behind a test app, for sweeps over every route.

Two members, two authors and an operator; a season and a team contest both members joined;
an open order, a team, a follow, a reward item, a grant and a redemption; an anchored piece of
content. Built through the public API wherever the API can build it, through
services where it cannot (market data, users with roles). The chain is a ``FakeRegistry``, so
anchoring and verifying never start a node.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from api.http.app import create_app
from core.db import Database
from core.users import services
from core.users.model import Role
from core.users.services import UsersUnitOfWork
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.uow import EngineUnitOfWork
from tests.conftest import BACKENDS, PASSWORD, make_settings
from tests.fake_chain import FakeRegistry

Headers = dict[str, str]
ROLES = ("member", "operator", "author")  # the roles a sweep signs in as (plus no token)


@dataclass(frozen=True)
class StaticChain:
    """A ``ContentChain`` over a fake registry: anchors and verifies in memory."""

    fake: FakeRegistry

    def registry(self) -> FakeRegistry:
        return self.fake

    def reader(self) -> Any:
        return self.fake.reader()


@dataclass(frozen=True)
class World:
    headers: dict[str, Headers]  # member, member_b, operator, author, author_b
    user_ids: dict[str, int]
    season_id: int
    contest_id: int
    symbol: str
    order_id: int  # member's open order
    team_id: int  # member's team
    team_invite_code: str
    item_id: int
    redemption_id: str  # member's pending redemption
    transfer_id: str  # the grant to member
    content_id: int  # author's anchored piece
    task_key: str = "read-article"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _sign_in(client: TestClient, username: str) -> dict[str, str]:
    token = _ok(client.post("/v1/auth/token", data={"username": username, "password": PASSWORD}))
    return {"Authorization": f"Bearer {token['access_token']}"}


def build_world(app: FastAPI, client: TestClient) -> World:
    """Populate the app's database; ``client`` must be the app's started test client."""
    database: Database = app.state.database
    app.state.content_chain = StaticChain(FakeRegistry())
    uow = EngineUnitOfWork(database.sessions)
    start = date(2024, 1, 1)
    instruments = install_synthetic(uow, Market.CN, count=3, seed=5, start=start, days=15)  # type: ignore[arg-type]
    symbols = [i.symbol for i in instruments]
    roles = {
        "member": Role.MEMBER,
        "member_b": Role.MEMBER,
        "operator": Role.OPERATOR,
        "author": Role.AUTHOR,
        "author_b": Role.AUTHOR,
    }
    users = {
        name: services.create_user(
            UsersUnitOfWork(database.sessions),
            username=f"sweep-{name.replace('_', '-')}",
            password=PASSWORD,
            roles=(role,),
        )
        for name, role in roles.items()
    }
    # Each role signs in as a client does, through /v1/auth/token.
    headers = {name: _sign_in(client, user.username) for name, user in users.items()}
    operator, member = headers["operator"], headers["member"]

    today = date.today()
    season = _ok(
        client.post(
            "/v1/admin/seasons",
            headers=operator,
            json={
                "name": "Sweep season",
                "timezone": "Asia/Shanghai",
                "starts_on": str(today),
                "ends_on": str(today + timedelta(days=90)),
                "market": "CN",
                "universe": symbols,
                "replay_start": "2024-01-01",
                "replay_end": "2024-01-19",
            },
        ),
        201,
    )
    contest = _ok(
        client.post(
            "/v1/admin/contests",
            headers=operator,
            json={
                "season_id": season["id"],
                "title": "Sweep cup",
                "trading_start": "2024-01-01",
                "trading_end": "2024-01-19",
                "starting_cash": "1000000.00",
                "teams": {"max_size": 3, "score": "mean"},
            },
        ),
        201,
    )
    url = f"/v1/contests/{contest['id']}"
    for name in ("member", "member_b"):
        _ok(client.post(f"{url}/entries", json={}, headers=headers[name]), 201)
    team = _ok(client.post(f"{url}/teams", json={"name": "Bulls"}, headers=member), 201)
    _ok(
        client.post(f"/v1/admin/contests/{contest['id']}/clock", json={"bars": 1}, headers=operator)
    )
    order = _ok(
        client.post(
            f"{url}/orders",
            json={"symbol": symbols[0], "side": "buy", "qty": "100", "time_in_force": "gtc"},
            headers=member,
        ),
        201,
    )
    _ok(client.post(f"/v1/me/follows/{users['member_b'].id}", headers=member), 201)

    item = _ok(
        client.post(
            "/v1/admin/rewards",
            headers=operator,
            json={
                "key": "mug",
                "name": "Mug",
                "cost_points": 100,
                "stock": 5,
                "needs_fulfilment": True,
            },
        ),
        201,
    )
    grant = _ok(
        client.post(
            "/v1/admin/points/grants",
            headers=operator,
            json={
                "member_id": users["member"].id,
                "asset": "POINTS",
                "amount": 1000,
                "reason": "sweep",
            },
        ),
        201,
    )
    redemption = _ok(client.post(f"/v1/rewards/{item['id']}/redemptions", headers=member), 201)

    author = headers["author"]
    anchored = _ok(
        client.post("/v1/content", json={"title": "One", "text": "Capex is up."}, headers=author),
        201,
    )
    _ok(client.post("/v1/admin/anchors", headers=operator))
    return World(
        headers=headers,
        user_ids={name: user.id for name, user in users.items()},
        season_id=season["id"],
        contest_id=contest["id"],
        symbol=symbols[0],
        order_id=order["id"],
        team_id=team["id"],
        team_invite_code=team["invite_code"],
        item_id=item["id"],
        redemption_id=redemption["id"],
        transfer_id=grant["id"],
        content_id=anchored["id"],
    )


class Served(NamedTuple):
    app: FastAPI
    client: TestClient
    world: World


@contextmanager
def world_on(url: str) -> Iterator[Served]:
    """An app over the migrated database at ``url``, started, with a world built in it."""
    database = Database.connect(url)
    app = create_app(make_settings(url), database=database)
    try:
        with TestClient(app) as client:
            yield Served(app, client, build_world(app, client))
    finally:
        database.dispose()


@pytest.fixture(scope="module", params=BACKENDS, name="shared_world")
def shared_world_fixture(request: pytest.FixtureRequest) -> Iterator[Served]:
    """One world per backend for a whole test module, for tests that only read it or change
    what no other test reads (building one takes seconds: five Argon2 hashes)."""
    name = "sqlite_databases" if request.param == "sqlite" else "postgres_databases"
    databases = request.getfixturevalue(name)
    url = databases.migrated()
    try:
        with world_on(url) as served:
            yield served
    finally:
        databases.drop(url)
