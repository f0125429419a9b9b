"""Sign-up, tokens, /v1/me and role enforcement over HTTP."""

from collections.abc import Callable
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient

from api.http.security import ALGORITHM, ISSUER
from core.clock import utc_now
from core.users.model import Role, User
from tests.conftest import PASSWORD, TEST_SECRET

PROBLEM = "application/problem+json"


def test_sign_up_token_me(client: TestClient) -> None:
    created = client.post(
        "/v1/auth/signup",
        json={"username": "Alice", "password": PASSWORD, "display_name": "Alice  Liddell"},
    )
    assert created.status_code == 201
    assert created.json()["username"] == "alice"
    assert created.json()["roles"] == ["member"]
    assert "password" not in created.text

    token = client.post("/v1/auth/token", data={"username": "alice", "password": PASSWORD})
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0

    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == created.json() | {"display_name": "Alice Liddell"}


def test_wrong_password_is_401_problem(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    response = client.post(
        "/v1/auth/token", data={"username": user.username, "password": "nope-nope"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "/problems/invalid-credentials"


def _token(user_id: int, stamp: str = "not-the-stamp", **claims: object) -> str:
    now = utc_now()
    base = {
        "sub": str(user_id),
        "stm": stamp,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": ISSUER,
    }
    return jwt.encode(base | claims, TEST_SECRET, algorithm=ALGORITHM)


def test_missing_invalid_expired_tokens_are_401(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    cases = {
        "missing": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "expired": {
            "Authorization": "Bearer "
            + _token(user.id, user.token_stamp, exp=utc_now() - timedelta(seconds=5))
        },
        "revoked (another stamp)": {"Authorization": f"Bearer {_token(user.id)}"},
        "forged": {
            "Authorization": "Bearer " + jwt.encode({"sub": str(user.id)}, "x" * 40, "HS256")
        },
        "unknown user": {"Authorization": f"Bearer {_token(987654, user.token_stamp)}"},
    }
    for name, headers in cases.items():
        response = client.get("/v1/me", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["content-type"] == PROBLEM, name
        assert response.json()["status"] == 401, name
    valid = client.get(
        "/v1/me", headers={"Authorization": f"Bearer {_token(user.id, user.token_stamp)}"}
    )
    assert valid.status_code == 200  # the forged/expired cases failed for their reason only


def test_operator_routes_refuse_members_with_403(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    member = login(make_user(Role.MEMBER, Role.AUTHOR))
    operator = login(make_user(Role.OPERATOR))
    response = client.get("/v1/admin/users", headers=member)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "operator" in response.json()["detail"]
    assert client.get("/v1/admin/users", headers=operator).status_code == 200
    assert client.get("/v1/admin/users").status_code == 401


def test_operator_creates_users_and_sets_roles(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    created = client.post(
        "/v1/admin/users",
        headers=operator,
        json={"username": "writer", "password": PASSWORD, "display_name": "W", "roles": ["author"]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == ["author"]
    changed = client.put(
        f"/v1/admin/users/{created.json()['id']}/roles",
        headers=operator,
        json={"roles": ["author", "member"]},
    )
    assert changed.json()["roles"] == ["author", "member"]
    missing = client.put(
        "/v1/admin/users/99999/roles", headers=operator, json={"roles": ["member"]}
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    huge = client.put(
        f"/v1/admin/users/{2**40}/roles", headers=operator, json={"roles": ["member"]}
    )
    assert huge.status_code == 422
    assert huge.json()["field"] == "path.user_id"


def test_user_list_pages_with_cursor(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    for _ in range(4):
        make_user()
    ids, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/admin/users", headers=operator, params=params).json()
        ids += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == 5
    assert ids == sorted(ids)
    bad = client.get("/v1/admin/users", headers=operator, params={"cursor": "!!!"})
    assert bad.status_code == 422
    assert (bad.json()["field"], bad.json()["rule"]) == ("query.cursor", "valid_cursor")
    too_many = client.get("/v1/admin/users", headers=operator, params={"limit": 10_000})
    assert too_many.status_code == 422 and too_many.json()["field"] == "query.limit"
