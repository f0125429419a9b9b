"""Teams and PK over HTTP: forming teams, refusals as problem+json naming the rule, PK rounds."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine import clock
from engine.contests import entries
from engine.contests.spec import PkSettings, TeamSettings
from engine.market.model import Market
from engine.uow import EngineUnitOfWork
from ledger.earning import Award
from tests import contest_builders as build
from tests.contest_builders import NOW


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


def problem(response, status: int, rule: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if rule is not None:
        assert response.json()["rule"] == rule, response.json()


def test_members_form_teams_and_follow_pk_rounds_over_http(
    client: TestClient,
    uow: EngineUnitOfWork,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = make_user(Role.OPERATOR)
    season = build.season(uow, operator, market=Market.US, days=8, count=3)
    contest = build.contest(
        uow,
        season,
        teams=TeamSettings(max_size=2),
        pk=PkSettings(round_bars=2, win=Award(points=5), draw=Award(points=1)),
    )
    alice, bob, carol, dave, outsider = (make_user() for _ in range(5))
    for member in (alice, bob, carol, dave):
        entries.join_contest(uow, contest.id, member.id, now=NOW)
    url = f"/v1/contests/{contest.id}"
    signed_in = {u.id: login(u) for u in (alice, bob, carol, dave, outsider)}

    def as_(user: User) -> dict[str, str]:
        return signed_in[user.id]

    problem(client.post(f"{url}/teams", json={"name": "Bulls"}), 401)
    problem(
        client.post(f"{url}/teams", json={"name": "Bulls"}, headers=as_(outsider)),
        404,
        "not_entered",
    )
    problem(client.post(f"{url}/teams", json={"name": ""}, headers=as_(alice)), 422)
    created = client.post(f"{url}/teams", json={"name": "Bulls"}, headers=as_(alice))
    assert created.status_code == 201, created.text
    bulls = created.json()
    assert bulls["captain_id"] == alice.id and bulls["size"] == 1 and bulls["invite_code"]
    problem(
        client.post(f"{url}/teams", json={"name": "Bulls"}, headers=as_(carol)),
        409,
        "team_name_taken",
    )

    join = f"/v1/teams/{bulls['id']}/members"
    problem(client.post(join, json={"invite_code": "guess"}, headers=as_(bob)), 403, "invite_code")
    joined = client.post(join, json={"invite_code": bulls["invite_code"]}, headers=as_(bob))
    assert joined.status_code == 201 and joined.json()["size"] == 2
    problem(
        client.post(join, json={"invite_code": bulls["invite_code"]}, headers=as_(dave)),
        409,
        "team_full",
    )
    seen_by_dave = client.get(f"/v1/teams/{bulls['id']}", headers=as_(dave)).json()
    assert seen_by_dave["invite_code"] is None and len(seen_by_dave["members"]) == 2
    assert client.get(f"/v1/teams/{bulls['id']}", headers=as_(bob)).json()["invite_code"]

    bears = client.post(f"{url}/teams", json={"name": "Bears"}, headers=as_(carol)).json()
    bears_join = f"/v1/teams/{bears['id']}/members"
    client.post(bears_join, json={"invite_code": bears["invite_code"]}, headers=as_(dave))
    left = client.delete(f"{bears_join}/me", headers=as_(dave))
    assert left.status_code == 204
    problem(client.delete(f"{bears_join}/me", headers=as_(dave)), 404, "not_in_team")
    rejoined = client.post(
        bears_join, json={"invite_code": bears["invite_code"]}, headers=as_(dave)
    )
    assert rejoined.status_code == 201

    page = client.get(f"{url}/teams", params={"limit": 1}, headers=as_(dave)).json()
    assert [t["name"] for t in page["items"]] == ["Bulls"] and page["next_cursor"]
    rest = client.get(
        f"{url}/teams", params={"cursor": page["next_cursor"]}, headers=as_(dave)
    ).json()
    assert [t["name"] for t in rest["items"]] == ["Bears"] and rest["next_cursor"] is None
    assert rest["items"][0]["invite_code"] == bears["invite_code"]  # dave's own team

    before = client.get(f"{url}/pk", headers=as_(alice)).json()
    assert before["rounds"] == [] and [s["points"] for s in before["standings"]] == [0, 0]

    clock.advance_clock(uow, contest.id, bars=100)
    problem(client.delete(f"{join}/me", headers=as_(bob)), 409, "teams_fixed")
    problem(
        client.post(f"{url}/teams", json={"name": "Late"}, headers=as_(dave)), 409, "teams_fixed"
    )

    pk = client.get(f"{url}/pk", headers=as_(alice)).json()
    assert pk["round_bars"] == 2 and pk["rounds"] and all(r["judged"] for r in pk["rounds"])
    first = pk["rounds"][0]
    assert (first["round_no"], first["first_tick"], first["last_tick"]) == (1, 1, 2)
    assert first["start_day"] is None and first["end_day"]
    (board,) = first["boards"]
    assert {board["team_a"], board["team_b"]} == {bulls["id"], bears["id"]}
    # Nobody traded: equal returns, so every round is a draw worth 1 point.
    assert board["outcome"] == "draw" and Decimal(board["a_return"]) == 0
    assert [s["points"] for s in pk["standings"]] == [len(pk["rounds"])] * 2
    assert {s["team_name"] for s in pk["standings"]} == {"Bulls", "Bears"}
    # Each draw paid every member its round award (1 point) once.
    points = client.get("/v1/me/points", headers=as_(bob)).json()
    assert points["balance"] == len(pk["rounds"])


def test_pk_and_teams_unhappy_paths(
    client: TestClient,
    uow: EngineUnitOfWork,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = make_user(Role.OPERATOR)
    season = build.season(uow, operator, days=5, count=2)
    plain = build.contest(uow, season)
    member = make_user()
    entries.join_contest(uow, plain.id, member.id, now=NOW)
    headers = login(member)
    problem(client.get(f"/v1/contests/{plain.id}/pk", headers=headers), 422, "no_pk")
    problem(
        client.post(f"/v1/contests/{plain.id}/teams", json={"name": "A"}, headers=headers),
        422,
        "no_teams",
    )
    problem(client.get("/v1/teams/999999", headers=headers), 404)
    problem(client.get("/v1/contests/999999/pk", headers=headers), 404)
    problem(
        client.post("/v1/teams/999999/members", json={"invite_code": "x"}, headers=headers), 404
    )
    problem(client.post("/v1/teams/1/members", json={}, headers=headers), 422)
