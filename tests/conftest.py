"""Fixtures shared by every test: databases on both backends, settings, app and clients."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.http.app import create_app
from core.config import Settings
from core.db import Database
from core.users import passwords, services
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from tests.chains import anvil_chain, anvil_node, chain, eth_tester_chain  # noqa: F401 (fixtures)
from tests.databases import (
    REQUIRE_POSTGRES,
    PostgresDatabases,
    SqliteDatabases,
    postgres_unavailable_reason,
)

# Tests (and the servers and CLI commands they start) use the in-process chain unless they ask
# for a chain; the local anvil node of the embedded default has its own tests.
os.environ.setdefault("PAPERLEAGUE_CHAIN_NODE", "in-process")

BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET = "test-" + secrets.token_hex(24)
# Argon2id still, at its smallest cost: pwdlib's recommended parameters (64 MiB, 3 passes, 4
# lanes) cost 0.3 s a hash and 0.2 s a check, and the suite creates and signs in thousands of
# users. Hashes name their parameters, so checks stay real; tests/unit/test_password_cost.py
# holds the production parameters to pwdlib's recommendation.
CHEAP_PASSWORD_HASH = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
PRODUCTION_PASSWORD_HASH = passwords._hasher  # the factory the cheap one stands in for


def pytest_sessionstart(session: pytest.Session) -> None:
    reason = postgres_unavailable_reason()
    if reason and REQUIRE_POSTGRES:
        pytest.exit(f"REQUIRE_POSTGRES=1 but {reason}", returncode=1)


def pytest_report_header() -> str:
    reason = postgres_unavailable_reason()
    return "postgresql: " + (reason or "available; PostgreSQL cases will run")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """In-process hashing at the cheap cost (servers started as subprocesses keep theirs)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", lambda: CHEAP_PASSWORD_HASH)
        passwords.dummy_hash.cache_clear()
        yield
    passwords.dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteDatabases]:
    databases = SqliteDatabases(tmp_path_factory.mktemp("sqlite"))
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _databases(request: pytest.FixtureRequest, backend: str) -> SqliteDatabases | PostgresDatabases:
    name = "sqlite_databases" if backend == "sqlite" else "postgres_databases"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A fresh database with no schema at all."""
    databases = _databases(request, backend)
    url = databases.empty()
    yield url
    databases.drop(url)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A fresh database migrated to head, private to this test."""
    databases = _databases(request, backend)
    url = databases.migrated()
    yield url
    databases.drop(url)


@pytest.fixture
def pg_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """A fresh migrated PostgreSQL database, for tests of row locks and real concurrency."""
    url = postgres_databases.migrated()
    yield url
    postgres_databases.drop(url)


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": url,
        "jwt_secret": TEST_SECRET,
        "log_level": "WARNING",
        # A live event stream ends this soon, so a test reading one (or a route sweep) ends.
        "event_stream_max_seconds": 0.2,
        "event_stream_poll_seconds": 0.05,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings over ``db_url``, already at head: the app skips its no-op upgrade on start
    (alembic re-reads every migration each time). Migrating on start has its own tests
    (tests/e2e/test_health.py, test_serve*.py), which build their settings themselves."""
    return make_settings(db_url, migrate_on_start=False)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database.connect(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def users_uow(database: Database) -> UsersUnitOfWork:
    return UsersUnitOfWork(database.sessions)


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(database: Database) -> Callable[..., User]:
    counter = iter(range(1, 1_000_000))

    def make(*roles: Role, username: str | None = None) -> User:
        return services.create_user(
            UsersUnitOfWork(database.sessions),
            username=username or f"user{next(counter)}",
            password=PASSWORD,
            roles=roles or (Role.MEMBER,),
        )

    return make


@pytest.fixture
def login(client: TestClient) -> Callable[[User], dict[str, str]]:
    """Authorization headers for a user created with the shared test password."""

    def headers_for(user: User) -> dict[str, str]:
        response = client.post(
            "/v1/auth/token", data={"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers_for


@pytest.fixture
def ledger_uow(database: Database):  # type: ignore[no-untyped-def]
    from ledger.services import LedgerUnitOfWork

    return LedgerUnitOfWork(database.sessions)
