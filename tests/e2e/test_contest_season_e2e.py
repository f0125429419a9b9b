"""A whole contest through the HTTP API: an operator sets up a season and a team contest with
PK rounds and prizes, members join, form teams and trade across rounds, the clock runs to the
end, settlement pays prizes once, and members see points, XP and tickets in /v1/me/points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.uow import EngineUnitOfWork
from tests.contest_builders import DISCLOSURES_JSON

Headers = dict[str, str]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_season_from_setup_to_settlement(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    instruments = install_synthetic(
        uow, Market.CN, count=5, seed=11, start=date(2024, 1, 1), days=30
    )  # type: ignore[arg-type]
    symbols = [i.symbol for i in instruments]
    operator = login(make_user(Role.OPERATOR))
    _ok(
        client.post(
            "/v1/admin/rewards",
            json={"key": "salon-ticket", "name": "Salon ticket", "cost_points": 1000, "stock": 20},
            headers=operator,
        ),
        201,
    )
    today = date.today()
    season = _ok(
        client.post(
            "/v1/admin/seasons",
            headers=operator,
            json={
                "name": "Autumn",
                "timezone": "Asia/Shanghai",
                "starts_on": str(today),
                "ends_on": str(today + timedelta(days=120)),
                "market": "CN",
                "universe": symbols,
                "replay_start": "2024-01-01",
                "replay_end": "2024-02-09",
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
                "title": "Team cup",
                "trading_start": "2024-01-01",
                "trading_end": "2024-02-09",
                "starting_cash": "1000000.00",
                "teams": {"max_size": 2, "score": "mean"},
                "pk": {"round_bars": 5, "draw_band": "0.0005", "win": {"points": 30, "xp": 5}},
                "prizes": [
                    {
                        "top_percent": ["0", "50"],
                        "points": 500,
                        "xp": 200,
                        "item_key": "salon-ticket",
                    }
                ],
                "disclosures": DISCLOSURES_JSON,
            },
        ),
        201,
    )
    url = f"/v1/contests/{contest['id']}"

    members = [make_user() for _ in range(6)]
    headers = [login(m) for m in members]
    for h in headers:
        _ok(client.post(f"{url}/entries", json={}, headers=h), 201)
    teams = []
    for captain, mate in ((0, 1), (2, 3), (4, 5)):
        team = _ok(
            client.post(f"{url}/teams", json={"name": f"Team {captain}"}, headers=headers[captain]),
            201,
        )
        _ok(
            client.post(
                f"/v1/teams/{team['id']}/members",
                json={"invite_code": team["invite_code"]},
                headers=headers[mate],
            ),
            201,
        )
        teams.append(team["id"])
    refused = client.post(
        f"/v1/teams/{teams[0]}/members", json={"invite_code": "x"}, headers=headers[2]
    )
    assert refused.status_code in (403, 409)

    clock = f"/v1/admin/contests/{contest['id']}/clock"
    _ok(client.post(clock, json={"bars": 1}, headers=operator))
    for i, h in enumerate(headers):  # different stocks, different fortunes
        _ok(
            client.post(
                f"{url}/orders",
                headers=h,
                json={
                    "symbol": symbols[i % len(symbols)],
                    "side": "buy",
                    "qty": str(100 * (i + 1) * 10),
                },
            ),
            201,
        )
    rejected = client.post(
        f"{url}/orders",
        headers=headers[0],
        json={"symbol": symbols[0], "side": "buy", "qty": "150"},
    )
    assert rejected.status_code == 422 and rejected.json()["rule"] == "lot_size"
    while not _ok(client.post(clock, json={"bars": 7}, headers=operator))["finished"]:
        pass

    board = _ok(client.get(f"{url}/leaderboard", headers=headers[0]))
    assert board["entries"] == 6 and len(board["items"]) == 6
    assert [row["position"] for row in board["items"]] == [1, 2, 3, 4, 5, 6]
    around = _ok(
        client.get(f"{url}/leaderboard", params={"around": "me", "k": 1}, headers=headers[3])
    )
    assert members[3].id in [row["member_id"] for row in around["items"]]
    team_board = _ok(client.get(f"{url}/leaderboard", params={"scope": "team"}, headers=headers[0]))
    assert {row["member_id"] for row in team_board["items"]} == {members[0].id, members[1].id}
    assert len(_ok(client.get(f"{url}/teams/leaderboard", headers=headers[0]))["items"]) == 3
    pk = _ok(client.get(f"{url}/pk", headers=headers[0]))
    assert len(pk["rounds"]) >= 5 and all(r["judged"] for r in pk["rounds"])
    assert sum(s["byes"] for s in pk["standings"]) == len(pk["rounds"])  # 3 teams: one bye each
    assert len(pk["standings"]) == 3

    report = _ok(client.post(f"/v1/admin/contests/{contest['id']}/settlement", headers=operator))
    again = _ok(client.post(f"/v1/admin/contests/{contest['id']}/settlement", headers=operator))
    assert again["paid_now"] == 0 and again["already_paid"] == report["paid_now"]
    prizes = _ok(client.get(f"{url}/prizes", headers=headers[0]))
    winners = {p["member_id"] for p in prizes["prizes"]}
    assert len(winners) >= 3
    for member, h in zip(members, headers, strict=True):
        points = _ok(client.get("/v1/me/points", headers=h))
        if member.id in winners:
            assert points["items"] == {"salon-ticket": 1}
            assert points["lifetime_xp"] >= 200
        else:
            assert points["items"] == {}
    assert _ok(client.get(url, headers=headers[0]))["state"] == "settled"
    verify = _ok(client.get("/v1/admin/ledger/verify", headers=operator))
    assert verify["ok"] is True
