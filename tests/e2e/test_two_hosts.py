"""Two ``paperleague serve`` processes as two hosts behind a load balancer: separate ports and
data directories, one PostgreSQL database, one chain node, one configured signing secret, and
the page cache's shared tier in PostgreSQL (the default) or in Redis.

Whatever one host did, the other sees: a token signed by A is good on B, an Idempotency-Key
first used on A replays on B without running again, an order placed and a tick run through A
show in B's leaderboard at that tick, a certificate issued through A verifies through B, and
failed sign-ins count across both hosts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.db import Database
from core.users import services as users
from core.users.model import Role
from engine.contests.model import Contest
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.chains import ANVIL_DEV_KEY, AnvilNode
from tests.conftest import PASSWORD, TEST_SECRET
from tests.integration.test_board_pages import REDIS_URL, _redis_client

pytestmark = pytest.mark.postgres_only

PAPERLEAGUE = str(Path(sys.executable).parent / "paperleague")
NOTE = "# Two hosts\n\nOne database, one chain, any host.\n"
Headers = dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Host:
    """One ``paperleague serve`` process with its own port and data directory."""

    def __init__(self, name: str, env: dict[str, str], root: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.log = root / f"{name}.log"
        data = root / name
        data.mkdir()
        self.env = env | {"PAPERLEAGUE_DATA_DIR": str(data)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [PAPERLEAGUE, "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> httpx.Client:
        assert self.process is not None
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        deadline = time.monotonic() + 90  # a start-up guard, not a timed assertion
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"{self.name} did not start\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def contest(pg_url: str) -> Contest:
    database = Database.connect(pg_url)
    try:
        uow = EngineUnitOfWork(database.sessions)
        uusers = users.UsersUnitOfWork(database.sessions)
        operator = users.create_user(
            uusers, username="operator", password=PASSWORD, roles=[Role.OPERATOR]
        )
        users.create_user(uusers, username="writer", password=PASSWORD, roles=[Role.AUTHOR])
        for name in ("alice", "bob", "carol"):
            users.create_user(uusers, username=name, password=PASSWORD, roles=[Role.MEMBER])
        today = date.today()
        season = build.season(
            uow,
            operator,
            days=20,
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=365),
        )
        return build.contest(uow, season)
    finally:
        database.dispose()


@pytest.fixture(params=["postgres", "redis"])
def page_cache(request: pytest.FixtureRequest) -> dict[str, str]:
    """The shared tier of the page cache: PostgreSQL (the default) or Redis."""
    if request.param == "redis":
        _redis_client()  # skips (or fails, with REQUIRE_REDIS=1) without a server
        return {"PAPERLEAGUE_REDIS_URL": REDIS_URL}
    return {}


@pytest.fixture
def hosts(
    pg_url: str,
    anvil_node: AnvilNode,
    contest: Contest,
    page_cache: dict[str, str],
    tmp_path: Path,
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    env = os.environ | {
        "PAPERLEAGUE_DATABASE_URL": pg_url,
        "PAPERLEAGUE_ENVIRONMENT": "test",
        "PAPERLEAGUE_JWT_SECRET": TEST_SECRET,
        "PAPERLEAGUE_CHAIN_RPC_URL": anvil_node.url,
        "PAPERLEAGUE_CHAIN_PRIVATE_KEY": ANVIL_DEV_KEY,
        "PAPERLEAGUE_CHAIN_CONFIRMATIONS": "0",
        "PAPERLEAGUE_LOG_LEVEL": "WARNING",
        # Long enough that a slow machine cannot outwait it between two requests.
        "PAPERLEAGUE_SIGN_IN_FIRST_DELAY_SECONDS": "60",
    }
    env.pop("PAPERLEAGUE_REDIS_URL", None)
    env |= page_cache
    a, b = Host("a", env, tmp_path), Host("b", env, tmp_path)
    with ExitStack() as stack:
        for host in (a, b):
            stack.callback(host.stop)
            host.start()  # both start at once: migrations and imports overlap
        clients = [host.wait_ready() for host in (a, b)]
        for client in clients:
            stack.callback(client.close)
        yield clients[0], clients[1]


def _sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/v1/auth/token", data={"username": username, "password": password})


def _token(client: httpx.Client, username: str) -> Headers:
    response = _sign_in(client, username)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _row_of(board: dict[str, Any], member_id: int) -> dict[str, Any]:
    return next(row for row in board["items"] if row["member_id"] == member_id)


def test_two_hosts_share_everything_through_the_database_and_the_chain(
    hosts: tuple[httpx.Client, httpx.Client], contest: Contest
) -> None:
    a, b = hosts

    # A token signed by A is accepted by B.
    operator, alice = _token(a, "operator"), _token(a, "alice")
    me = _ok(b.get("/v1/me", headers=alice))
    assert me["username"] == "alice"
    bob = _token(b, "bob")

    # An Idempotency-Key first used on A replays on B: same answer, granted once.
    grant = {"member_id": me["id"], "asset": "POINTS", "amount": 70, "reason": "two hosts"}
    keyed = operator | {"Idempotency-Key": "two-hosts-grant-1"}
    first = a.post("/v1/admin/points/grants", json=grant, headers=keyed)
    replay = b.post("/v1/admin/points/grants", json=grant, headers=keyed)
    assert first.status_code == replay.status_code == 201, replay.text
    assert replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    points = _ok(b.get("/v1/me/points", headers=alice))
    assert points["balance"] == 70, points

    # An order placed on A and a tick run on A show in B's leaderboard at that tick, though B
    # cached the board of the tick before.
    path = f"/v1/contests/{contest.id}"
    for member in (alice, bob):
        _ok(a.post(f"{path}/entries", json={}, headers=member), 201)
    _ok(a.post(f"/v1/admin/contests/{contest.id}/clock", json={}, headers=operator))
    before = _ok(b.get(f"{path}/leaderboard", headers=bob))
    assert _ok(b.get(f"{path}/leaderboard", headers=bob)) == before  # now cached on B
    assert _row_of(before, me["id"])["trades"] == 0
    order = {"symbol": contest.universe[0], "side": "buy", "qty": "1000"}
    _ok(a.post(f"{path}/orders", json=order, headers=alice), 201)
    _ok(a.post(f"/v1/admin/contests/{contest.id}/clock", json={}, headers=operator))
    after = _ok(b.get(f"{path}/leaderboard", headers=bob))
    assert after["tick"] == before["tick"] + 1
    assert _row_of(after, me["id"])["trades"] == 1

    # A certificate issued through A verifies through B (one chain, one registry).
    writer = _token(a, "writer")
    piece = _ok(a.post("/v1/content", json={"title": "Hosts", "text": NOTE}, headers=writer), 201)
    _ok(a.post("/v1/admin/anchors", headers=operator))
    certificate = _ok(a.get(f"/v1/certificates/{piece['id']}", headers=writer))
    checked = {"certificate": certificate, "content": NOTE}
    verdict = _ok(b.post("/v1/certificates/verify", json=checked))
    assert verdict["valid"] is True, verdict

    # Failed sign-ins count across hosts: the five free failures split between A and B, the
    # sixth attempt is made to wait on either (per host, neither would have reached five).
    for host in (a, b, a, b, a):
        assert _sign_in(host, "carol", "wrong password").status_code == 401
    for host in (a, b):
        refused = _sign_in(host, "carol")
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
