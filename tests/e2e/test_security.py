"""Security defects found in review, each pinned end to end: forged tokens on a default install,
tokens outliving their user, sign-in brute force, private contests, response hardening."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import ALGORITHM, ISSUER
from core.clock import utc_now
from core.config import DEVELOPMENT_SECRET, Settings
from core.signing import SECRET_FILE
from core.users import services
from core.users.model import Role
from core.users.services import UsersUnitOfWork
from tests.conftest import PASSWORD

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
