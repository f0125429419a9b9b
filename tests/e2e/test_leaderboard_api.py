"""Leaderboards and follows over HTTP: pages, around me, friends, team board, history, and the
refusals (no entry, no team, bad parameters, following oneself or nobody)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine.contests.model import Contest
from engine.contests.spec import TeamSettings
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build

Headers = dict[str, str]


@pytest.fixture
def contest(database: Database, make_user: Callable[..., User]) -> Contest:
    uow = EngineUnitOfWork(database.sessions)
    today = date.today()
    season = build.season(
        uow,
        make_user(Role.OPERATOR),
        days=20,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=365),
    )
    return build.contest(uow, season, teams=TeamSettings(max_size=3))


def test_members_read_the_leaderboard_around_them_among_friends_and_over_time(
    client: TestClient,
    contest: Contest,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    users = [make_user() for _ in range(4)]
    heads = [login(u) for u in users]
    path = f"/v1/contests/{contest.id}"
    for h in heads[:3]:
        assert client.post(f"{path}/entries", json={}, headers=h).status_code == 201
    before = client.get(f"{path}/leaderboard", headers=heads[0])
    assert before.status_code == 200, before.text
    assert before.json()["tick"] == 0 and before.json()["items"] == []

    assert client.post(
        f"/v1/admin/contests/{contest.id}/clock", json={}, headers=operator
    ).is_success
    order = {"symbol": contest.universe[0], "side": "buy", "qty": "1000"}
    assert client.post(f"{path}/orders", json=order, headers=heads[1]).status_code == 201
    clock = client.post(
        f"/v1/admin/contests/{contest.id}/clock", json={"bars": 3}, headers=operator
    )
    assert clock.status_code == 200, clock.text

    board = client.get(f"{path}/leaderboard", params={"limit": 2}, headers=heads[0]).json()
    assert board["tick"] == 4 and board["entries"] == 3 and len(board["items"]) == 2
    assert [row["position"] for row in board["items"]] == [1, 2]
    assert board["me"]["position"] in (1, 2, 3) and board["me"]["percentile"] > 0
    first = board["items"][0]
    assert set(first) >= {"rank", "member_id", "display_name", "metric", "equity", "trades"}
    rest = client.get(
        f"{path}/leaderboard", params={"cursor": board["next_cursor"]}, headers=heads[0]
    ).json()
    assert [row["position"] for row in rest["items"]] == [3] and rest["next_cursor"] is None

    around = client.get(
        f"{path}/leaderboard", params={"around": "me", "k": 1}, headers=heads[2]
    ).json()
    assert users[2].id in [row["member_id"] for row in around["items"]]

    followed = client.post(f"/v1/me/follows/{users[1].id}", headers=heads[0])
    assert followed.status_code == 201 and followed.json()["member_id"] == users[1].id
    assert client.post(f"/v1/me/follows/{users[1].id}", headers=heads[0]).status_code == 200
    assert [f["member_id"] for f in client.get("/v1/me/follows", headers=heads[0]).json()] == [
        users[1].id
    ]
    friends = client.get(f"{path}/leaderboard", params={"scope": "friends"}, headers=heads[0])
    assert {row["member_id"] for row in friends.json()["items"]} == {users[0].id, users[1].id}
    assert client.delete(f"/v1/me/follows/{users[1].id}", headers=heads[0]).status_code == 204
    assert client.get("/v1/me/follows", headers=heads[0]).json() == []

    mine = client.get(f"{path}/leaderboard/history", headers=heads[1]).json()
    assert [point["tick"] for point in mine] == [1, 2, 3, 4]
    theirs = client.get(
        f"{path}/leaderboard/history", params={"member_id": users[1].id}, headers=heads[0]
    ).json()
    assert theirs == mine
    teams = client.get(f"{path}/teams/leaderboard", headers=heads[0])
    assert teams.status_code == 200 and teams.json()["items"] == []


def test_leaderboard_refusals_name_the_problem(
    client: TestClient,
    contest: Contest,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    member, outsider = make_user(), make_user()
    mine, theirs = login(member), login(outsider)
    path = f"/v1/contests/{contest.id}/leaderboard"
    client.post(f"/v1/contests/{contest.id}/entries", json={}, headers=mine)

    not_entered = client.get(path, params={"around": "me"}, headers=theirs)
    assert not_entered.status_code == 404
    assert not_entered.headers["content-type"].startswith("application/problem+json")
    assert not_entered.json()["type"].endswith("not-entered")
    no_team = client.get(path, params={"scope": "team"}, headers=mine)
    assert no_team.status_code == 404 and no_team.json()["rule"] == "not_in_team"
    for params, field in [
        ({"scope": "everyone"}, "scope"),
        ({"around": "you"}, "around"),
        ({"k": -1}, "k"),
        ({"limit": 0}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ]:
        bad = client.get(path, params=params, headers=mine)
        assert bad.status_code == 422, params
        assert field in bad.json()["field"], (params, bad.json())
    assert client.get("/v1/contests/999999/leaderboard", headers=mine).status_code == 404
    assert client.get(path).status_code == 401

    assert client.post(f"/v1/me/follows/{member.id}", headers=mine).status_code == 422
    assert client.post("/v1/me/follows/999999", headers=mine).status_code == 404
    assert client.delete("/v1/me/follows/999999", headers=mine).status_code == 204
