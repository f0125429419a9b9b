"""The web UI is served next to the API without taking any of the API's paths."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_root_serves_the_single_page_app(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/web/app.js">' in index.text
    module = client.get("/web/app.js")
    assert module.status_code == 200
    assert "javascript" in module.headers["content-type"]
    assert module.headers["cache-control"] == "no-cache"
    assert client.get("/web/vendor/chart.umd.min.js").status_code == 200


def test_api_paths_keep_their_own_answers(client: TestClient) -> None:
    unknown = client.post("/v1/nothing-here", json={})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    wrong_method = client.delete("/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET"
    assert client.get("/docs").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    missing = client.get("/web/no-such-file.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
