"""Security defects found in review, each pinned end to end: forged tokens on a default install,
tokens outliving their user, sign-in brute force, private contests, response hardening."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.security import ALGORITHM, ISSUER
from core.clock import utc_now
from core.config import DEVELOPMENT_SECRET, Settings
from core.db import Database
from core.signing import SECRET_FILE
from core.users import services
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from tests.conftest import PASSWORD, make_settings

PROBLEM = "application/problem+json"


def _forge(user_id: int, secret: str) -> dict[str, str]:
    now = utc_now()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=5), "iss": ISSUER}
    return {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm=ALGORITHM)}"}


@pytest.fixture
def default_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app as ``make serve`` runs it: development, no secret configured, SQLite."""
    for name in ("PAPERLEAGUE_ENVIRONMENT", "PAPERLEAGUE_JWT_SECRET", "PAPERLEAGUE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'paperleague.db'}", log_level="WARNING"
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_default_install_refuses_tokens_signed_with_the_public_placeholder(
    default_install: TestClient, tmp_path: Path
) -> None:
    client = default_install
    operator = services.create_user(
        UsersUnitOfWork(client.app.state.database.sessions),  # type: ignore[attr-defined]
        username="root",
        password=PASSWORD,
        roles=[Role.OPERATOR],
    )
    forged = client.get("/v1/admin/users", headers=_forge(operator.id, DEVELOPMENT_SECRET))
    assert forged.status_code == 401, forged.text
    assert forged.headers["content-type"] == PROBLEM

    issued = client.post("/v1/auth/token", data={"username": "root", "password": PASSWORD})
    token = issued.json()["access_token"]
    answered = client.get("/v1/admin/users", headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200, answered.text
    secret = (tmp_path / SECRET_FILE).read_text().strip()
    assert jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER)["sub"] == str(
        operator.id
    )


# --- 2. a token names its user unambiguously, and can be revoked ------------------------------


def _bearer(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/v1/auth/token", data={"username": username, "password": password})


def _sign_up(client: TestClient, username: str) -> dict[str, Any]:
    created = client.post(
        "/v1/auth/signup",
        json={"username": username, "password": PASSWORD, "display_name": username},
    )
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def test_a_deleted_users_token_does_not_open_the_next_account(
    client: TestClient, database: Database
) -> None:
    gone = _sign_up(client, "leaver")
    token = _bearer(_sign_in(client, "leaver"))
    with database.sessions() as session, session.begin():
        session.execute(text("DELETE FROM user_roles WHERE user_id = :id"), {"id": gone["id"]})
        session.execute(text("DELETE FROM users WHERE id = :id"), {"id": gone["id"]})
    newcomer = _sign_up(client, "newcomer")
    assert newcomer["id"] > gone["id"]  # ids are never reused, on SQLite too
    response = client.get("/v1/me", headers=token)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM


def test_logout_all_revokes_every_token_of_the_user_only(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user, other = make_user(), make_user()
    first = _bearer(_sign_in(client, user.username))
    second = _bearer(_sign_in(client, user.username))
    theirs = _bearer(_sign_in(client, other.username))
    assert client.post("/v1/auth/logout-all", headers=first).status_code == 204
    for headers in (first, second):
        refused = client.get("/v1/me", headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/me", headers=theirs).status_code == 200
    again = _bearer(_sign_in(client, user.username))
    assert client.get("/v1/me", headers=again).json()["id"] == user.id
    assert client.post("/v1/auth/logout-all").status_code == 401


def test_a_revoked_token_replays_nothing_stored_under_its_idempotency_keys(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    headers = _bearer(_sign_in(client, user.username))
    keyed = headers | {"Idempotency-Key": "check-in-1"}
    assert client.post("/v1/me/check-ins", headers=keyed).status_code == 201
    assert client.post("/v1/auth/logout-all", headers=headers).status_code == 204
    replay = client.post("/v1/me/check-ins", headers=keyed)
    assert replay.status_code == 401, replay.text
    assert "idempotent-replayed" not in replay.headers


def test_a_new_password_revokes_earlier_tokens(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    old = _bearer(_sign_in(client, user.username))
    wrong = client.put(
        "/v1/me/password",
        json={"current_password": "not-the-password", "new_password": "a whole new one"},
        headers=old,
    )
    assert wrong.status_code == 422, wrong.text
    assert (wrong.json()["field"], wrong.json()["rule"]) == ("current_password", "wrong_password")
    short = client.put(
        "/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=old
    )
    assert (short.status_code, short.json()["field"]) == (422, "new_password")
    changed = client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a whole new one"},
        headers=old,
    )
    new = _bearer(changed)
    assert client.get("/v1/me", headers=old).status_code == 401
    assert client.get("/v1/me", headers=new).status_code == 200
    assert _sign_in(client, user.username).status_code == 401
    assert _sign_in(client, user.username, "a whole new one").status_code == 200


# --- 3. sign-in brute force ---------------------------------------------------------------------


def test_a_burst_of_wrong_passwords_is_cut_off_and_the_right_one_waits_too(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    answers = [_sign_in(client, user.username, f"guess-{n:04}").status_code for n in range(40)]
    assert answers[:5] == [401] * 5  # the free failures
    assert answers.count(401) <= 7 and answers[-1] == 429  # then backoff: 1 s, 2 s, 4 s …
    refused = _sign_in(client, user.username)  # the right password, guessed at last
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert (body["type"], body["status"], body["limit"]) == (
        "/problems/too-many-sign-ins",
        429,
        "username",
    )
    assert int(refused.headers["retry-after"]) == body["retry_after"] >= 1
    assert "try again in" in body["detail"]
    assert "access_token" not in refused.text


def test_the_limits_are_shared_by_every_worker(
    db_url: str, make_user: Callable[..., User]
) -> None:
    """Two apps over one database (two ``serve --workers`` processes) count together."""
    user = make_user()
    first = Database.connect(db_url)
    second = Database.connect(db_url)
    try:
        with (
            TestClient(create_app(make_settings(db_url), database=first)) as one,
            TestClient(create_app(make_settings(db_url), database=second)) as other,
        ):
            for n in range(5):
                worker = one if n % 2 else other
                assert _sign_in(worker, user.username, "wrong-password").status_code == 401
            assert _sign_in(one, user.username).status_code == 429
            assert _sign_in(other, user.username).status_code == 429
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    db_url: str, make_user: Callable[..., User], trusted: bool
) -> None:
    user = make_user()
    settings = make_settings(
        db_url, sign_in_failures_per_address=3, trust_proxy_headers=trusted
    )
    database = Database.connect(db_url)
    try:
        with TestClient(create_app(settings, database=database)) as client:
            for n in range(3):  # three different unknown usernames, one address each time
                spoofed = {"X-Forwarded-For": f"203.0.113.{n}"}
                response = client.post(
                    "/v1/auth/token",
                    data={"username": f"nobody{n}", "password": "wrong-password"},
                    headers=spoofed,
                )
                assert response.status_code == 401
            fresh = client.post(
                "/v1/auth/token",
                data={"username": user.username, "password": PASSWORD},
                headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.99"},
            )
            # Untrusted, the header is ignored: one address made three failures. Trusted, the
            # proxy's entry (the last) is a new address.
            assert fresh.status_code == (200 if trusted else 429), fresh.text
    finally:
        database.dispose()
