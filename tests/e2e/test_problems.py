"""Every error is RFC 9457 problem+json: 404, 405, 409, 413, 422 and 500."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from core.config import Settings
from core.db import Database
from tests.conftest import PASSWORD, make_settings

PROBLEM = "application/problem+json"


def _is_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    return body


def test_unknown_route_404(client: TestClient) -> None:
    assert _is_problem(client.get("/v1/nothing-here"), 404)["instance"] == "/v1/nothing-here"


def test_wrong_method_405(client: TestClient) -> None:
    _is_problem(client.delete("/v1/me"), 405)


def test_conflict_409(client: TestClient) -> None:
    body = {"username": "taken", "password": PASSWORD, "display_name": "T"}
    assert client.post("/v1/auth/signup", json=body).status_code == 201
    problem = _is_problem(client.post("/v1/auth/signup", json=body), 409)
    assert problem["type"] == "/problems/username-taken"
    assert problem["field"] == "username"


def test_validation_422_names_each_field_and_rule(client: TestClient) -> None:
    problem = _is_problem(
        client.post("/v1/auth/signup", json={"username": "x", "password": "short"}), 422
    )
    rules = {(e["field"], e["rule"]) for e in problem["errors"]}
    assert rules == {
        ("username", "username_format"),
        ("password", "password_length"),
        ("display_name", "missing"),
    }
    assert (problem["field"], problem["rule"]) in rules
    assert "short" not in problem["detail"]  # inputs (passwords) are never echoed


def test_malformed_json_422(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/signup", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    assert _is_problem(response, 422)["field"] == "body"


@pytest.fixture
def small_client(db_url: str) -> TestClient:
    settings = make_settings(db_url, max_body_bytes=2048)
    database = Database.connect(db_url)
    with TestClient(create_app(settings, database=database)) as client:
        yield client
    database.dispose()


def test_declared_body_over_limit_413(small_client: TestClient) -> None:
    response = small_client.post(
        "/v1/auth/signup", content=b"x" * 4096, headers={"content-type": "application/json"}
    )
    assert _is_problem(response, 413)["limit"] == 2048


def test_streamed_body_over_limit_413(small_client: TestClient) -> None:
    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(8):
            yield b"x" * 512

    response = small_client.post(
        "/v1/auth/signup", content=chunks(), headers={"content-type": "application/json"}
    )
    _is_problem(response, 413)


def test_body_under_limit_passes(small_client: TestClient) -> None:
    response = small_client.post(
        "/v1/auth/signup", json={"username": "fits", "password": PASSWORD, "display_name": "F"}
    )
    assert response.status_code == 201


def test_unexpected_error_500_hides_internals(settings: Settings, database: Database) -> None:
    app: FastAPI = create_app(settings, database=database)

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail: db password is hunter2")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom", headers={"X-Request-ID": "req-123"})
    problem = _is_problem(response, 500)
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "req-123" in problem["detail"]


def test_request_id_echoed(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
