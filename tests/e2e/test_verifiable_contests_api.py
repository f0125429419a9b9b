"""Verifiable contests over HTTP: the official rules once trading starts, a member's results
certificate once settled and anchored, the public verifier — and the unhappy paths."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from core.users.model import Role, User
from tests.api_world import StaticChain
from tests.e2e.test_contests_api import contest_body, season_body, symbols  # noqa: F401
from tests.fake_chain import FakeRegistry

Headers = dict[str, str]


@pytest.fixture
def fake(app: FastAPI) -> FakeRegistry:
    registry = FakeRegistry()
    app.state.content_chain = StaticChain(registry)
    return registry


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _problem(response: Any, status: int, rule: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    if rule is not None:
        assert body["rule"] == rule, body
    return body


def test_rules_and_results_certificates_verify_over_http(
    client: TestClient,
    fake: FakeRegistry,
    symbols: list[str],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    season = _ok(client.post("/v1/admin/seasons", json=season_body(symbols), headers=operator), 201)
    body = contest_body(season["id"], qualification={"min_trades": 0})
    contest = _ok(client.post("/v1/admin/contests", json=body, headers=operator), 201)
    url = f"/v1/contests/{contest['id']}"
    members = [make_user() for _ in range(3)]
    headers = [login(m) for m in members]
    for h in headers:
        _ok(client.post(f"{url}/entries", json={}, headers=h), 201)
    outsider = login(make_user())

    _problem(client.get(f"{url}/rules", headers=headers[0]), 409, "rules_not_locked")
    _ok(
        client.post(f"/v1/admin/contests/{contest['id']}/clock", json={"bars": 1}, headers=operator)
    )
    rules = _ok(client.get(f"{url}/rules", headers=headers[0]))
    assert rules["sha256"] == "0x" + hashlib.sha256(rules["document"].encode()).hexdigest()
    assert rules["rules"]["contest"]["prizes"][0]["points"] == 1000
    assert (rules["anchor"], rules["certificate"]) == (None, None)

    _problem(client.get(f"{url}/results/certificate", headers=headers[0]), 409, "not_settled")
    run = _ok(client.post("/v1/admin/anchors", headers=operator))
    assert len(run["attestations"]["anchored"]) == 1
    rules = _ok(client.get(f"{url}/rules", headers=headers[0]))
    assert rules["anchor"]["status"] == "anchored"
    certificate = rules["certificate"]
    assert certificate["values"] == [str(contest["id"]), rules["sha256"]]
    verdict = _ok(
        client.post("/v1/contests/certificates/verify", json={"certificate": certificate})
    )
    assert verdict["valid"] and verdict["failed"] == []

    tampered = certificate | {"document": certificate["document"].replace("1000", "9000")}
    verdict = _ok(client.post("/v1/contests/certificates/verify", json={"certificate": tampered}))
    assert verdict["failed"] == ["document"]
    malformed = client.post(
        "/v1/contests/certificates/verify", json={"certificate": certificate | {"root": "0x12"}}
    )
    assert _problem(malformed, 422, "hex32")["field"] == "root"

    _ok(
        client.post(
            f"/v1/admin/contests/{contest['id']}/clock", json={"bars": 50}, headers=operator
        )
    )
    _ok(client.post(f"/v1/admin/contests/{contest['id']}/settlement", headers=operator))
    _problem(client.get(f"{url}/results/certificate", headers=headers[0]), 409, "not_anchored")
    _ok(client.post("/v1/admin/anchors", headers=operator))
    _ok(client.post("/v1/admin/anchors", headers=operator))  # a second run anchors nothing
    assert len(fake.anchors) == 2

    for member, h in zip(members, headers, strict=True):
        response = client.get(f"{url}/results/certificate", headers=h)
        assert "attachment" in response.headers["content-disposition"]
        mine = _ok(response)
        assert mine["kind"] == "contest-results" and mine["values"][1] == str(member.id)
        assert mine["values"][-1] == rules["sha256"]
        checked = client.post("/v1/contests/certificates/verify", json={"certificate": mine})
        assert _ok(checked)["valid"]
        forged = mine | {"values": [*mine["values"][:4], "999999", mine["values"][5]]}
        checked = client.post("/v1/contests/certificates/verify", json={"certificate": forged})
        assert _ok(checked)["failed"] == ["leaf"]  # a prize of 999999 is not what was anchored
    _problem(client.get(f"{url}/results/certificate", headers=outsider), 404)
    _problem(client.get("/v1/contests/999999/rules", headers=outsider), 404)
