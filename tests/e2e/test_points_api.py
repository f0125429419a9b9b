"""Members' points, check-ins, tasks, rewards and redemptions over HTTP; operators' setup."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.users.model import Role, User

PROBLEM = "application/problem+json"


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], dict[str, str]]) -> dict:
    return login(make_user(Role.OPERATOR))


@pytest.fixture
def member(make_user: Callable[..., User], login: Callable[[User], dict[str, str]]) -> dict:
    return login(make_user(Role.MEMBER))


def test_check_in_then_points_and_history(client: TestClient, member: dict, operator: dict) -> None:
    rules = {"timezone": "Asia/Shanghai", "checkin": {"points": 10, "xp": 150}}
    assert client.put("/v1/admin/earning-rules", json=rules, headers=operator).status_code == 200
    first = client.post("/v1/me/check-ins", headers=member)
    assert first.status_code == 201, first.text
    assert (first.json()["points"], first.json()["streak"]) == (10, 1)
    again = client.post("/v1/me/check-ins", headers=member)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["rule"] == "one_checkin_per_local_day"
    points = client.get("/v1/me/points", headers=member).json()
    assert points | {"privileges": None} == {
        "balance": 10,
        "available": 10,
        "lifetime_xp": 150,
        "level": 2,
        "level_name": "Trader",
        "next_level": 3,
        "next_threshold": 500,
        "privileges": None,
        "items": {},
    }
    history = client.get("/v1/me/points/history", headers=member, params={"limit": 1}).json()
    assert len(history["items"]) == 1 and history["next_cursor"]
    rest = client.get(
        "/v1/me/points/history", headers=member, params={"cursor": history["next_cursor"]}
    ).json()
    assert {e["asset"] for e in history["items"] + rest["items"]} == {"POINTS", "XP"}
    assert all(e["amount"] > 0 for e in rest["items"])


def test_catalog_redemption_with_idempotency_key(
    client: TestClient, member: dict, operator: dict
) -> None:
    item = client.post(
        "/v1/admin/rewards",
        headers=operator,
        json={
            "key": "salon",
            "name": "Salon ticket",
            "cost_points": 10,
            "stock": 1,
        },
    )
    assert item.status_code == 201, item.text
    item_id = item.json()["id"]
    poor = client.post(f"/v1/rewards/{item_id}/redemptions", headers=member)
    assert poor.status_code == 422 and poor.json()["rule"] == "enough_points"
    client.put(
        "/v1/admin/earning-rules", headers=operator, json={"checkin": {"points": 25, "xp": 0}}
    )
    client.post("/v1/me/check-ins", headers=member)
    keyed = member | {"Idempotency-Key": "redeem-1"}
    done = client.post(f"/v1/rewards/{item_id}/redemptions", headers=keyed)
    replay = client.post(f"/v1/rewards/{item_id}/redemptions", headers=keyed)
    assert done.status_code == replay.status_code == 201
    assert replay.json() == done.json() and done.json()["status"] == "completed"
    sold_out = client.post(f"/v1/rewards/{item_id}/redemptions", headers=member)
    assert sold_out.status_code == 422 and sold_out.json()["rule"] == "in_stock"
    points = client.get("/v1/me/points", headers=member).json()
    assert (points["balance"], points["items"]) == (15, {"salon": 1})
    catalog = client.get("/v1/rewards", headers=member).json()["items"]
    assert [(i["key"], i["stock_left"]) for i in catalog] == [("salon", 0)]
    mine = client.get("/v1/me/redemptions", headers=member).json()["items"]
    assert [r["id"] for r in mine] == [done.json()["id"]]
    missing = client.post("/v1/rewards/999/redemptions", headers=member)
    assert missing.status_code == 404


def test_fulfilment_flow(client: TestClient, member: dict, operator: dict) -> None:
    client.put(
        "/v1/admin/earning-rules", headers=operator, json={"checkin": {"points": 50, "xp": 0}}
    )
    client.post("/v1/me/check-ins", headers=member)
    item = client.post(
        "/v1/admin/rewards",
        headers=operator,
        json={
            "key": "book",
            "name": "Book",
            "cost_points": 20,
            "stock": 5,
            "needs_fulfilment": True,
        },
    ).json()
    held = client.post(f"/v1/rewards/{item['id']}/redemptions", headers=member).json()
    assert held["status"] == "pending"
    assert client.get("/v1/me/points", headers=member).json()["available"] == 30
    fulfilled = client.post(f"/v1/admin/redemptions/{held['id']}/fulfil", headers=operator)
    assert fulfilled.json()["status"] == "fulfilled"
    again = client.post(f"/v1/admin/redemptions/{held['id']}/cancel", headers=operator)
    assert again.status_code == 409
    assert (
        client.post(f"/v1/admin/redemptions/{held['id']}/fulfil", headers=member).status_code == 403
    )


def test_tasks_and_levels(client: TestClient, member: dict, operator: dict) -> None:
    rules = {
        "tasks": {"share": {"title": "Share", "award": {"points": 5, "xp": 20}, "per_day_cap": 1}}
    }
    assert client.put("/v1/admin/earning-rules", headers=operator, json=rules).status_code == 200
    assert (
        client.get("/v1/admin/earning-rules", headers=operator).json()["tasks"]["share"][
            "per_day_cap"
        ]
        == 1
    )
    assert client.get("/v1/admin/earning-rules", headers=member).status_code == 403
    tasks = client.get("/v1/me/tasks", headers=member).json()
    assert [(t["key"], t["award"], t["per_day_cap"]) for t in tasks] == [
        ("share", {"points": 5, "xp": 20}, 1)
    ]
    levels = {
        "levels": [
            {"number": 1, "name": "A", "min_xp": 0},
            {"number": 2, "name": "B", "min_xp": 20, "points_multiplier": "2"},
        ]
    }
    put = client.put("/v1/admin/levels", headers=operator, json=levels)
    assert put.status_code == 200 and put.json()["version"] == 1
    assert client.get("/v1/admin/levels", headers=operator).json() == put.json()
    done = client.post("/v1/me/tasks/share/completions", headers=member)
    assert done.status_code == 201 and done.json()["points"] == 5
    capped = client.post("/v1/me/tasks/share/completions", headers=member)
    assert capped.status_code == 422 and capped.json()["rule"] == "per_day_cap"
    assert client.post("/v1/me/tasks/nope/completions", headers=member).status_code == 404
    me = client.get("/v1/me/points", headers=member).json()
    assert (me["level"], me["privileges"]["points_multiplier"]) == (2, "2")


@pytest.mark.parametrize(
    "path,body,field",
    [
        (
            "/v1/admin/levels",
            {"levels": [{"number": 1, "name": "A", "min_xp": 5}]},
            "levels.0.min_xp",
        ),
        ("/v1/admin/levels", {"levels": []}, "levels"),
        ("/v1/admin/earning-rules", {"timezone": "Mars/Olympus"}, "timezone"),
        ("/v1/admin/earning-rules", {"checkin": {"points": -1}}, "checkin.points"),
        ("/v1/admin/earning-rules", {"checkin": {"points": 1.5}}, "checkin.points"),
        ("/v1/admin/earning-rules", {"checkin": {"points": 10**16}}, "checkin.points"),
    ],
)
def test_bad_configuration_is_422_naming_the_field(
    client: TestClient, operator: dict, path: str, body: dict, field: str
) -> None:
    response = client.put(path, headers=operator, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["field"] == field


def test_bad_reward_input(client: TestClient, operator: dict) -> None:
    for body, field in (
        ({"key": "x", "name": "X", "cost_points": 0, "stock": 1}, "cost_points"),
        ({"key": "Bad Key", "name": "X", "cost_points": 1, "stock": 1}, "key"),
        ({"key": "x", "name": "X", "cost_points": 1, "stock": -1}, "stock"),
    ):
        response = client.post("/v1/admin/rewards", headers=operator, json=body)
        assert (response.status_code, response.json()["field"]) == (422, field)
    body = {"key": "dup", "name": "X", "cost_points": 1, "stock": 1}
    assert client.post("/v1/admin/rewards", headers=operator, json=body).status_code == 201
    assert client.post("/v1/admin/rewards", headers=operator, json=body).status_code == 409


def test_members_cannot_configure(client: TestClient, member: dict) -> None:
    assert client.put("/v1/admin/levels", headers=member, json={"levels": []}).status_code == 403
    assert client.get("/v1/me/points").status_code == 401


def test_sign_up_with_referral_code(client: TestClient, make_user: Callable[..., User]) -> None:
    inviter = make_user(Role.MEMBER, username="inviter")
    body = {"username": "newbie", "password": "newbie-password", "display_name": "N"}
    unknown = client.post("/v1/auth/signup", json=body | {"referral_code": "nobody"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "referral_code"
    created = client.post("/v1/auth/signup", json=body | {"referral_code": "Inviter"})
    assert created.status_code == 201
    from core.db import Database  # the referral is recorded, paid on the first contest trade
    from ledger.services import LedgerUnitOfWork

    del Database, LedgerUnitOfWork, inviter
