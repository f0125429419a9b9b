"""Security defects found in review, each pinned end to end: forged tokens on a default install,
tokens outliving their user, sign-in brute force, private contests, response hardening."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.http.app import create_app
from api.http.middleware import API_POLICY, UI_POLICY
from api.http.security import ALGORITHM, ISSUER
from core.clock import utc_now
from core.config import DEVELOPMENT_SECRET, Settings
from core.db import Database
from core.signing import SECRET_FILE
from core.users import services
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from tests.chains import anvil_binary, require_or_skip
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
    answers = []
    for n in range(200):  # the report: 200 guesses in 20 s, all answered 401
        guess = _sign_in(client, user.username, f"guess-{n:04}")
        answers.append(guess.status_code)
        if guess.status_code == 429 and int(guess.headers["retry-after"]) >= 3:
            break  # a wait of more than 2 s to go: the right password comes well inside it
    assert answers[:5] == [401] * 5  # the free failures
    assert answers.count(401) <= 9  # then backoff: 1 s, 2 s, 4 s … after the last failure
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


def _slow_backoff(url: str) -> Settings:
    return make_settings(url, sign_in_first_delay_seconds=600)


def test_the_limits_are_shared_by_every_worker(db_url: str, make_user: Callable[..., User]) -> None:
    """Two apps over one database (two ``serve --workers`` processes) count together."""
    user = make_user()
    first = Database.connect(db_url)
    second = Database.connect(db_url)
    try:
        with (
            # A long first wait: however slow the machine, the sixth attempt comes inside it.
            TestClient(create_app(_slow_backoff(db_url), database=first)) as one,
            TestClient(create_app(_slow_backoff(db_url), database=second)) as other,
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
        db_url,
        sign_in_failures_per_address=3,
        sign_in_first_delay_seconds=600,
        trust_proxy_headers=trusted,
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


# --- 5. response hardening ----------------------------------------------------------------------


def _script_tags(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>", html)


def test_the_ui_api_and_docs_answer_with_hardening_headers(client: TestClient) -> None:
    index, module, api, missing = (
        client.get("/"),
        client.get("/web/app.js"),
        client.get("/v1/me"),
        client.get("/nowhere"),
    )
    for response in (index, module, api, missing, client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    for response in (index, module):
        assert response.headers["content-security-policy"] == UI_POLICY
    # The UI policy allows no inline script: the shell has none, only its own files.
    tags = _script_tags(index.text)
    assert tags and all(re.search(r'src="/web/', tag) for tag in tags)
    assert "<style" not in index.text and "style=" not in index.text
    assert api.headers["content-security-policy"] == API_POLICY
    assert api.headers["cache-control"] == "no-store"
    assert index.headers["cache-control"] == "no-cache"  # the UI's own, kept

    docs = client.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline, "FastAPI's Swagger page starts with an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    script_src = policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "'unsafe-inline'" not in script_src and "https://cdn.jsdelivr.net" in script_src


def test_tokens_are_never_cached(client: TestClient, make_user: Callable[..., User]) -> None:
    user = make_user()
    issued = _sign_in(client, user.username)
    refused = _sign_in(client, user.username, "wrong-password")
    for response in (issued, refused):
        assert response.headers["cache-control"] == "no-store"
    assert issued.headers["pragma"] == "no-cache"
    changed = client.put(
        "/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another long one"},
        headers=_bearer(issued),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.headers["cache-control"], changed.headers["pragma"]) == ("no-store", "no-cache")


@pytest.mark.parametrize("trusted", [False, True])
def test_hsts_only_behind_tls(db_url: str, trusted: bool) -> None:
    database = Database.connect(db_url)
    settings = make_settings(db_url, trust_proxy_headers=trusted)
    try:
        with TestClient(create_app(settings, database=database)) as plain:
            forwarded = plain.get("/healthz", headers={"X-Forwarded-Proto": "https"})
            assert ("strict-transport-security" in forwarded.headers) is trusted
            assert "strict-transport-security" not in plain.get("/healthz").headers
        app = create_app(settings, database=database)
        with TestClient(app, base_url="https://testserver") as tls:
            hsts = tls.get("/").headers["strict-transport-security"]
            assert hsts.startswith("max-age=31536000")
    finally:
        database.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_generates_one_secret_for_its_workers_and_names_no_server(tmp_path: Path) -> None:
    """What ``make serve`` runs, with two workers: one secret, generated once and logged,
    tokens good on either worker, and no ``server: uvicorn``."""
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PAPERLEAGUE_JWT_SECRET", "PAPERLEAGUE_ENVIRONMENT", "PAPERLEAGUE_DATA_DIR"}
    }
    env["PAPERLEAGUE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    if anvil_binary() is None:
        require_or_skip("anvil is not installed (run: npm ci --prefix contracts)")
    env["PAPERLEAGUE_CHAIN_NODE"] = "local"  # several workers need one shared chain
    command = [str(Path(sys.executable).parent / "paperleague"), "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=10)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "server did not start in 90 s"
                time.sleep(0.3)
        assert ready.json()["status"] == "ready"
        assert "server" not in ready.headers
        assert ready.headers["x-content-type-options"] == "nosniff"
        body = {"username": "served", "password": PASSWORD, "display_name": "Served"}
        assert httpx.post(f"{base}/v1/auth/signup", json=body).status_code == 201
        signed_in = httpx.post(
            f"{base}/v1/auth/token", data={"username": "served", "password": PASSWORD}
        )
        headers = _bearer(signed_in)
        # A new connection each time: the workers take turns accepting them.
        assert {httpx.get(f"{base}/v1/me", headers=headers).status_code for _ in range(8)} == {200}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    secret = tmp_path / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert output.count("generated a new token signing secret") == 1, output
