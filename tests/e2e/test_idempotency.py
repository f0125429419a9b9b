"""Idempotency-Key on POSTs: replay, conflict, per-user scope, retries after errors, races."""

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from core.db import Database
from core.users import services
from core.users.model import Role, User
from core.users.services import UsersUnitOfWork
from tests.conftest import PASSWORD, make_settings

PROBLEM = "application/problem+json"


class SideEffects:
    """A test-only route whose every execution is counted; it fails while told to."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail_next = False
        self.lock = threading.Lock()
        self.router = APIRouter()
        self.router.add_api_route(
            "/v1/test/effects", self.effect, methods=["POST"], status_code=201
        )

    def effect(self, body: dict) -> dict:
        time.sleep(0.2)  # widen the window for concurrent replays
        with self.lock:
            if self.fail_next:
                self.fail_next = False
                raise RuntimeError("transient failure")
            self.runs += 1
            return {"run": self.runs, "echo": body}


def _app(url: str, effects: SideEffects, **overrides: object) -> tuple[FastAPI, Database]:
    database = Database.connect(url)
    app = create_app(make_settings(url, **overrides), database=database)
    app.include_router(effects.router)
    return app, database


@pytest.fixture
def effects() -> SideEffects:
    return SideEffects()


@pytest.fixture
def effect_client(db_url: str, effects: SideEffects) -> Iterator[TestClient]:
    app, database = _app(db_url, effects)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    database.dispose()


def _headers(client: TestClient, user: User | str, key: str | None = None) -> dict[str, str]:
    username = user if isinstance(user, str) else user.username
    token = client.post("/v1/auth/token", data={"username": username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return headers | ({"Idempotency-Key": key} if key else {})


@pytest.fixture
def member(db_url: str) -> User:
    database = Database.connect(db_url)
    user = services.create_user(
        UsersUnitOfWork(database.sessions),
        username="member",
        password=PASSWORD,
        roles=[Role.MEMBER],
    )
    database.dispose()
    return user


def test_replay_returns_the_first_response_without_running_again(
    effect_client: TestClient, effects: SideEffects, member: User
) -> None:
    headers = _headers(effect_client, member, "k-1")
    first = effect_client.post("/v1/test/effects", json={"a": 1, "b": [1, 2]}, headers=headers)
    again = effect_client.post(
        "/v1/test/effects",
        content=b'{ "b": [1, 2],   "a": 1 }',
        headers=headers | {"content-type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() == {"run": 1, "echo": {"a": 1, "b": [1, 2]}}
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert effects.runs == 1


def test_same_key_different_body_is_409_naming_fields(
    effect_client: TestClient, effects: SideEffects, member: User
) -> None:
    headers = _headers(effect_client, member, "k-2")
    effect_client.post("/v1/test/effects", json={"a": 1, "b": 2}, headers=headers)
    conflict = effect_client.post(
        "/v1/test/effects", json={"a": 1, "b": 3, "c": 0}, headers=headers
    )
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == PROBLEM
    assert conflict.json()["type"] == "/problems/idempotency-key-reused"
    assert conflict.json()["conflicting"] == ["b", "c"]
    other_path = effect_client.post("/v1/admin/users", json={"a": 1, "b": 2}, headers=headers)
    assert other_path.status_code == 409 and "path" in other_path.json()["conflicting"]
    assert effects.runs == 1


def test_keys_are_per_user(
    effect_client: TestClient, effects: SideEffects, member: User, make_user: Callable[..., User]
) -> None:
    other = make_user()
    mine = effect_client.post(
        "/v1/test/effects", json={}, headers=_headers(effect_client, member, "k")
    )
    theirs = effect_client.post(
        "/v1/test/effects", json={}, headers=_headers(effect_client, other, "k")
    )
    assert mine.json()["run"] == 1 and theirs.json()["run"] == 2


def test_without_key_every_post_runs(
    effect_client: TestClient, effects: SideEffects, member: User
) -> None:
    headers = _headers(effect_client, member)
    effect_client.post("/v1/test/effects", json={}, headers=headers)
    effect_client.post("/v1/test/effects", json={}, headers=headers)
    assert effects.runs == 2


def test_server_errors_are_not_stored_so_the_retry_runs(
    effect_client: TestClient, effects: SideEffects, member: User
) -> None:
    headers = _headers(effect_client, member, "k-3")
    effects.fail_next = True
    failed = effect_client.post("/v1/test/effects", json={"x": 1}, headers=headers)
    assert failed.status_code == 500
    retried = effect_client.post("/v1/test/effects", json={"x": 1}, headers=headers)
    assert retried.status_code == 201 and retried.json()["run"] == 1
    assert "idempotent-replayed" not in retried.headers


def test_client_errors_are_stored_and_replayed(
    effect_client: TestClient, member: User, make_user: Callable[..., User]
) -> None:
    operator = make_user(Role.OPERATOR)
    headers = _headers(effect_client, operator, "k-4")
    body = {"username": "member", "password": PASSWORD, "display_name": "M", "roles": ["member"]}
    first = effect_client.post("/v1/admin/users", json=body, headers=headers)
    again = effect_client.post("/v1/admin/users", json=body, headers=headers)
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "has space"])
def test_malformed_key_is_422(effect_client: TestClient, member: User, key: str) -> None:
    headers = _headers(effect_client, member) | {"Idempotency-Key": key}
    response = effect_client.post("/v1/test/effects", json={}, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "header.idempotency-key"


def test_operator_user_creation_replays(
    effect_client: TestClient, make_user: Callable[..., User]
) -> None:
    headers = _headers(effect_client, make_user(Role.OPERATOR), "create-writer")
    body = {"username": "writer", "password": PASSWORD, "display_name": "W", "roles": ["author"]}
    first = effect_client.post("/v1/admin/users", json=body, headers=headers)
    again = effect_client.post("/v1/admin/users", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


def _concurrently(count: int, call: Callable[[], object]) -> list:
    barrier = threading.Barrier(count)
    results: list = []

    def run() -> None:
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres_only
def test_concurrent_requests_with_one_key_run_once(pg_url: str) -> None:
    effects = SideEffects()
    app, database = _app(pg_url, effects)
    services.create_user(
        UsersUnitOfWork(database.sessions), username="racer", password=PASSWORD, roles=[Role.MEMBER]
    )
    with TestClient(app) as client:
        headers = _headers(client, "racer", "race")
        responses = _concurrently(
            2, lambda: client.post("/v1/test/effects", json={"n": 1}, headers=headers)
        )
    database.dispose()
    assert effects.runs == 1
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.headers.get("idempotent-replayed", "") for r in responses) == ["", "true"]


@pytest.mark.postgres_only
def test_concurrent_user_creation_with_one_key_creates_one_user(pg_url: str) -> None:
    effects = SideEffects()
    app, database = _app(pg_url, effects)
    services.create_user(
        UsersUnitOfWork(database.sessions),
        username="boss",
        password=PASSWORD,
        roles=[Role.OPERATOR],
    )
    body = {"username": "twin", "password": PASSWORD, "display_name": "T", "roles": ["member"]}
    with TestClient(app) as client:
        headers = _headers(client, "boss", "one-twin")
        responses = _concurrently(
            8, lambda: client.post("/v1/admin/users", json=body, headers=headers)
        )
    users, _ = services.list_users(UsersUnitOfWork(database.sessions), after=None, limit=50)
    database.dispose()
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(u.username for u in users) == ["boss", "twin"]


def test_in_progress_replay_gives_up_after_the_wait(db_url: str, member: User) -> None:
    effects = SideEffects()
    app, database = _app(db_url, effects, idempotency_wait_seconds=0)
    with TestClient(app) as client:
        headers = _headers(client, member, "slow")
        responses = _concurrently(
            2, lambda: client.post("/v1/test/effects", json={}, headers=headers)
        )
    database.dispose()
    statuses = sorted(r.status_code for r in responses)
    assert effects.runs == 1
    assert statuses == [201, 409]
    busy = next(r for r in responses if r.status_code == 409)
    assert busy.json()["type"] == "/problems/idempotency-key-in-progress"
