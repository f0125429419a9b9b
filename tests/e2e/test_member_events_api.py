"""The live push stream (GET /v1/me/events): a member's fills and order statuses, written in the
fill's transaction, read back as server-sent events by cursor; on both databases.

Test settings end a stream after ``event_stream_max_seconds`` (TestClient reads a response to
its end), so each read below is one bounded stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from api.http.security import ALGORITHM, ISSUER, STREAM_AUDIENCE
from core.clock import utc_now
from core.config import Settings
from core.db import Database
from core.member_events import parse_cursor
from core.users.model import User
from engine import clock
from engine.trading import order_desk, services
from engine.trading.orders import OrderRequest, OrderType, Side
from engine.uow import EngineUnitOfWork
from tests.conftest import TEST_SECRET, make_settings
from tests.e2e.test_trading_api import contest, entered  # noqa: F401 (fixture)

Headers = dict[str, str]


@pytest.fixture
def settings(db_url: str) -> Settings:
    # Heartbeats and polls fast, streams short: each read takes a fraction of a second.
    return make_settings(
        db_url,
        event_stream_poll_seconds=0.02,
        event_stream_heartbeat_seconds=0.05,
        event_stream_max_seconds=0.25,
    )


def frames(text: str) -> list[dict[str, Any]]:
    """The events of an SSE body (comments and the retry field left out)."""
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if fields.get("event") == "ready":  # where the stream starts
            assert json.loads(fields["data"]) == {"cursor": int(fields["id"])}
            continue
        if "data" in fields:
            data = json.loads(fields["data"])
            assert fields["id"] == str(data["id"]) and fields["event"] == data["kind"]
            found.append(data)
    return found


def read(client: TestClient, headers: Headers | None = None, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/me/events", headers=headers or {}, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return frames(response.text)


def buy(database: Database, contest_id: int, member: User, symbol: str, qty: str) -> int:
    request = OrderRequest(symbol=symbol, side=Side.BUY, type=OrderType.MARKET, qty=Decimal(qty))
    order = order_desk.place_order(
        EngineUnitOfWork(database.sessions), contest_id, member.id, request
    )
    return order.id


def test_fills_reach_only_their_members_stream_and_resume_without_gaps_or_duplicates(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    alice, bob = make_user(), make_user()
    for member in (alice, bob):
        entered(database, contest_id, member)
    mine, theirs = login(alice), login(bob)
    assert read(client, mine, after=0) == []  # placing an order announces nothing

    a1 = buy(database, contest_id, alice, symbols[0], "100")
    a2 = buy(database, contest_id, alice, symbols[1], "200")
    b1 = buy(database, contest_id, bob, symbols[0], "300")
    clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id)  # the next bar fills

    alice_all = read(client, mine, after=0)
    alice_sees = [e for e in alice_all if e["kind"].startswith("order.")]
    kinds = {(e["kind"], e["payload"]["order_id"]) for e in alice_sees}
    assert kinds == {
        ("order.fill", a1),
        ("order.fill", a2),
        ("order.status", a1),
        ("order.status", a2),
    }
    statuses = {e["payload"]["status"] for e in alice_sees if e["kind"] == "order.status"}
    assert statuses == {"filled"}
    fills = [e["payload"] for e in alice_sees if e["kind"] == "order.fill"]
    assert {(f["order_id"], f["qty"]) for f in fills} == {(a1, "100"), (a2, "200")}
    assert all(f["contest_id"] == contest_id for f in fills)
    bob_sees = read(client, theirs, after=0)
    assert {e["payload"]["order_id"] for e in bob_sees if "order_id" in e["payload"]} == {b1}

    ids = [e["id"] for e in alice_all]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # A reconnect names the last event it got: the rest follow, once each, in order.
    for cut in range(len(ids)):
        resumed = read(client, mine | {"Last-Event-ID": str(ids[cut])}, after=0)
        assert [e["id"] for e in resumed] == ids[cut + 1 :]

    # A stream opened without a cursor starts now; what commits meanwhile reaches it.
    a3 = buy(database, contest_id, alice, symbols[2], "100")
    cancel = threading.Timer(
        0.08,
        services.cancel_order,
        (EngineUnitOfWork(database.sessions), contest_id, alice.id, a3),
    )
    cancel.start()
    live = read(client, mine)
    cancel.join()
    assert [(e["kind"], e["payload"]["order_id"], e["payload"]["status"]) for e in live] == [
        ("order.status", a3, "canceled")
    ]
    assert read(client, mine | {"Last-Event-ID": str(ids[-1])}) == live
    assert read(client, mine | {"Last-Event-ID": str(live[-1]["id"])}) == []


def test_an_idle_stream_sends_heartbeats(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    body = client.get("/v1/me/events", headers=login(make_user())).text
    assert body.startswith("retry: ")
    assert "event: ready\n" in body
    assert body.count(": heartbeat\n\n") >= 2


def test_a_stream_token_opens_only_its_members_stream(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    alice, bob = make_user(), make_user()
    entered(database, contest_id, bob)
    buy(database, contest_id, bob, symbols[0], "100")
    clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id)

    issued = client.post("/v1/me/events/token", headers=login(alice))
    assert issued.status_code == 200, issued.text
    token = issued.json()["stream_token"]
    assert issued.json()["expires_in"] > 0
    assert read(client, stream_token=token, after=0) == []  # alice's stream: none of bob's
    bobs = client.post("/v1/me/events/token", headers=login(bob)).json()["stream_token"]
    assert ("order.status", "filled") in {
        (e["kind"], e["payload"].get("status")) for e in read(client, stream_token=bobs, after=0)
    }
    # A stream token is no access token.
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def _claims(user: User, **changes: Any) -> dict[str, Any]:
    now = utc_now()
    return {
        "sub": str(user.id),
        "stm": user.token_stamp,
        "iat": now,
        "exp": now + timedelta(seconds=60),
        "iss": ISSUER,
        "aud": STREAM_AUDIENCE,
    } | changes


def test_a_bad_or_expired_stream_token_is_a_401_problem(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    user = make_user()
    forged = {
        "expired": jwt.encode(
            _claims(user, exp=utc_now() - timedelta(seconds=1)), TEST_SECRET, algorithm=ALGORITHM
        ),
        "garbage": "not-a-token",
        "access token": login(user)["Authorization"].removeprefix("Bearer "),
        "other secret": jwt.encode(_claims(user), "x" * 40, algorithm=ALGORITHM),
        "revoked stamp": jwt.encode(_claims(user, stm="old"), TEST_SECRET, algorithm=ALGORITHM),
        "other audience": jwt.encode(_claims(user, aud="x"), TEST_SECRET, algorithm=ALGORITHM),
    }
    for forge, params in [(f, {"stream_token": t}) for f, t in forged.items()] + [("none", {})]:
        response = client.get("/v1/me/events", params=params)
        assert response.status_code == 401, forge
        assert response.headers["content-type"] == "application/problem+json", forge
        assert response.headers["www-authenticate"] == "Bearer", forge
    good = jwt.encode(_claims(user), TEST_SECRET, algorithm=ALGORITHM)
    assert client.get("/v1/me/events", params={"stream_token": good}).status_code == 200


def test_cursors_parse_strictly() -> None:
    assert parse_cursor("42") == 42
    assert [parse_cursor(v) for v in (None, "", "-1", "4x", "9" * 19)] == [None] * 5


def test_a_standings_tick_reaches_each_entrants_stream_with_their_leaderboard_rank(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    alice, bob, carol = make_user(), make_user(), make_user()
    for member in (alice, bob):
        entered(database, contest_id, member)
    buy(database, contest_id, alice, symbols[0], "100")
    clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id, bars=2)

    for member in (alice, bob):
        headers = login(member)
        board = client.get(f"/v1/contests/{contest_id}/leaderboard", headers=headers)
        assert board.status_code == 200, board.text
        me = board.json()["me"]
        ranks = [e for e in read(client, headers, after=0) if e["kind"] == "rank.change"]
        assert me["rank"] is not None  # the fixture's contest ranks every entry
        assert ranks and ranks[-1]["payload"]["rank"] == me["rank"]
        assert ranks[0]["payload"]["previous_rank"] is None  # the first tick
        assert all(r["payload"]["contest_id"] == contest_id for r in ranks)
        assert all(r["payload"]["rank"] != r["payload"]["previous_rank"] for r in ranks)
    # Not entered: no account in the contest, so none of its broadcasts.
    assert read(client, login(carol), after=0) == []
