"""Probes and docs."""

from fastapi.testclient import TestClient

from api.http.app import create_app
from core import migrations
from core.db import Database
from tests.conftest import make_settings


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["revision"] == migrations.head_revision()


def test_readyz_503_when_schema_is_behind(empty_db_url: str) -> None:
    settings = make_settings(empty_db_url, migrate_on_start=False)
    database = Database.connect(empty_db_url)
    with TestClient(create_app(settings, database=database)) as client:
        response = client.get("/readyz")
    database.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["head"] == migrations.head_revision()


def test_app_applies_migrations_on_start(empty_db_url: str) -> None:
    database = Database.connect(empty_db_url)
    with TestClient(create_app(make_settings(empty_db_url), database=database)) as client:
        assert client.get("/readyz").status_code == 200
    database.dispose()


def test_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/v1/auth/signup" in schema["paths"]
    assert "Problem" in schema["components"]["schemas"]
    signup_422 = schema["paths"]["/v1/auth/signup"]["post"]["responses"]["422"]
    assert "application/problem+json" in signup_422["content"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
