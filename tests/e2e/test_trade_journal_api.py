"""The trade journal over HTTP: a note given with an order or put later, shown with the order;
a note making a prohibited claim is a 422 ``prohibited_claim`` naming the terms, writing nothing;
under ``notes_required_for_ranking`` an entry with an unnoted filled order is listed unranked
with the reason."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from core.db import Database
from core.users.model import User
from engine import clock
from engine.uow import EngineUnitOfWork
from tests.e2e.test_trading_api import contest, entered  # noqa: F401 (fixture)

PROBLEM = "application/problem+json"


def test_a_note_with_an_order_and_one_put_later(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    member = make_user()
    entered(database, contest_id, member)
    headers = login(member)
    url = f"/v1/contests/{contest_id}/orders"
    buy = {"symbol": symbols[0], "side": "buy", "qty": "100"}

    placed = client.post(
        url, json=buy | {"note": "Breakout above the 20-day high"}, headers=headers
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["note"] == "Breakout above the 20-day high"
    plain = client.post(url, json=buy, headers=headers).json()
    assert plain["note"] is None

    put = client.put(
        f"{url}/{plain['id']}/note", json={"note": "Adding on strength"}, headers=headers
    )
    assert put.status_code == 200, put.text
    assert put.json()["order_id"] == plain["id"]
    assert (
        client.get(f"{url}/{plain['id']}", headers=headers).json()["note"] == "Adding on strength"
    )
    listed = {o["id"]: o["note"] for o in client.get(url, headers=headers).json()["items"]}
    assert listed == {order["id"]: order["note"], plain["id"]: "Adding on strength"}

    other = login(make_user())
    assert (
        client.put(f"{url}/{plain['id']}/note", json={"note": "x"}, headers=other).status_code
        == 404
    )
    missing = client.put(f"{url}/2147483647/note", json={"note": "x"}, headers=headers)
    assert missing.status_code == 404


def test_notes_making_prohibited_claims_or_too_long_are_refused_and_write_nothing(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    member = make_user()
    entered(database, contest_id, member)
    headers = login(member)
    url = f"/v1/contests/{contest_id}/orders"
    buy = {"symbol": symbols[0], "side": "buy", "qty": "100"}
    claim = "This is a Guaranteed  Return, 稳赚 for sure"

    refused = client.post(url, json=buy | {"note": claim}, headers=headers)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert (problem["field"], problem["rule"]) == ("note", "prohibited_claim")
    assert set(problem["terms"]) == {"guaranteed return", "稳赚"}
    assert client.get(url, headers=headers).json()["items"] == []  # no order placed

    order = client.post(url, json=buy, headers=headers).json()
    put = client.put(f"{url}/{order['id']}/note", json={"note": claim}, headers=headers)
    assert put.status_code == 422 and put.json()["rule"] == "prohibited_claim"
    assert client.get(f"{url}/{order['id']}", headers=headers).json()["note"] is None
    long = client.put(f"{url}/{order['id']}/note", json={"note": "x" * 2001}, headers=headers)
    assert long.status_code == 422
    assert (
        client.put(
            f"{url}/{order['id']}/note", json={"note": "x" * 2000}, headers=headers
        ).status_code
        == 200
    )


def test_notes_required_for_ranking_lists_an_unnoted_entry_unranked_with_the_reason(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    uow = EngineUnitOfWork(database.sessions)
    with uow:
        row = uow.trading.contest(contest_id)
        assert row is not None
        row.notes_required_for_ranking = True
        uow.commit()
    noted, unnoted = make_user(), make_user()
    for member in (noted, unnoted):
        entered(database, contest_id, member)
    url = f"/v1/contests/{contest_id}/orders"
    buy = {"symbol": symbols[0], "side": "buy", "qty": "100"}
    assert client.post(url, json=buy | {"note": "thesis"}, headers=login(noted)).status_code == 201
    unnoted_headers = login(unnoted)
    late = client.post(url, json=buy, headers=unnoted_headers).json()
    clock.advance_clock(uow, contest_id)  # both orders fill

    board = client.get(f"/v1/contests/{contest_id}/leaderboard", headers=login(noted)).json()
    rows = {r["member_id"]: r for r in board["items"]}
    assert rows[noted.id]["rank"] == 1 and rows[noted.id]["unranked_reason"] is None
    assert rows[unnoted.id]["rank"] is None
    assert rows[unnoted.id]["unranked_reason"] == "journal_notes"

    client.put(f"{url}/{late['id']}/note", json={"note": "later"}, headers=unnoted_headers)
    clock.advance_clock(uow, contest_id)  # the next tick ranks it
    board = client.get(f"/v1/contests/{contest_id}/leaderboard", headers=login(noted)).json()
    assert all(r["rank"] is not None for r in board["items"])
