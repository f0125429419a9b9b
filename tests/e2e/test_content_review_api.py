"""Content review over HTTP: the policy holds a flagged piece, the operator queue lists it, an
operator approves or rejects it with a reason, and the author sees the decision — and the bad
paths (no reason, not an operator, already decided, a stranger's piece)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.users.model import Role, User
from tests.e2e.test_content_api import StaticChain
from tests.fake_chain import FakeRegistry

Headers = dict[str, str]
CLAIM = "Semis: a guaranteed return of 8% a year, every year."
NOTE = "Foundry capex is underrated: pricing, share and yield."
REVIEWS = "/v1/admin/content/reviews"


@pytest.fixture
def chain(app: FastAPI) -> FakeRegistry:
    fake = FakeRegistry()
    app.state.content_chain = StaticChain(fake, fake.reader())
    return fake


@pytest.fixture
def author(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.AUTHOR))


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.OPERATOR))


@pytest.fixture
def review_claims(client: TestClient, operator: Headers) -> None:
    policy = {
        "near_duplicate_action": "review",
        "near_duplicate_threshold": "0.70",
        "compliance_action": "review",
    }
    response = client.put("/v1/admin/content/policy", json=policy, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json()["compliance_action"] == "review"


def _register(client: TestClient, headers: Headers, text: str) -> dict[str, Any]:
    response = client.post("/v1/content", json={"title": "Semis", "text": text}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _anchor(client: TestClient, operator: Headers) -> dict[str, Any] | None:
    response = client.post("/v1/admin/anchors", headers=operator)
    assert response.status_code == 200, response.text
    batch: dict[str, Any] | None = response.json()["batch"]
    return batch


@pytest.mark.usefixtures("review_claims")
def test_held_piece_is_approved_then_certified(
    client: TestClient, chain: FakeRegistry, author: Headers, operator: Headers
) -> None:
    held = _register(client, author, CLAIM)
    assert held["review"]["status"] == "pending"
    assert held["review"]["reasons"] == ["compliance"]
    assert _anchor(client, operator) is None  # nothing cleared to anchor
    refused = client.get(f"/v1/certificates/{held['id']}", headers=author)
    assert (refused.status_code, refused.json()["rule"]) == (409, "under_review")

    queue = client.get(REVIEWS, params={"status": "pending"}, headers=operator).json()
    assert [(c["content"]["id"], c["review"]["reasons"]) for c in queue["items"]] == [
        (held["id"], ["compliance"])
    ]
    assert (
        client.get(REVIEWS, params={"reason": "near_duplicate"}, headers=operator).json()["items"]
        == []
    )

    keyed = operator | {"Idempotency-Key": "review/approve/1"}
    url = f"{REVIEWS}/{held['id']}/approve"
    approved = client.post(url, json={"reason": "Quoted, not promised"}, headers=keyed)
    assert approved.status_code == 200, approved.text
    case = approved.json()
    assert case["review"]["status"] == "approved" and case["decided_by"] is not None
    replay = client.post(url, json={"reason": "Quoted, not promised"}, headers=keyed)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == case

    batch = _anchor(client, operator)
    assert batch is not None and batch["count"] == 1
    assert client.get(f"/v1/certificates/{held['id']}", headers=author).status_code == 200
    seen = client.get(f"/v1/content/{held['id']}", headers=author).json()
    assert (seen["status"], seen["review"]["decision_reason"]) == (
        "anchored",
        "Quoted, not promised",
    )


@pytest.mark.usefixtures("review_claims")
def test_rejection_and_the_unhappy_paths(
    client: TestClient,
    chain: FakeRegistry,
    author: Headers,
    operator: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    held = _register(client, author, CLAIM)
    clean = _register(client, author, NOTE)
    assert clean["review"] is None
    reject = f"{REVIEWS}/{held['id']}/reject"

    missing = client.post(reject, json={}, headers=operator)
    assert missing.status_code == 422 and "reason" in missing.text
    blank = client.post(reject, json={"reason": "   "}, headers=operator)
    assert (blank.status_code, blank.json()["field"], blank.json()["rule"]) == (
        422,
        "reason",
        "required",
    )
    assert client.post(reject, json={"reason": "no"}, headers=author).status_code == 403
    assert client.get(REVIEWS, headers=author).status_code == 403
    not_held = client.post(
        f"{REVIEWS}/{clean['id']}/approve", json={"reason": "ok"}, headers=operator
    )
    assert not_held.status_code == 404

    rejected = client.post(reject, json={"reason": "Promises returns"}, headers=operator)
    assert rejected.status_code == 200, rejected.text
    again = client.post(
        f"{REVIEWS}/{held['id']}/approve", json={"reason": "changed my mind"}, headers=operator
    )
    assert (again.status_code, again.json()["rule"], again.json()["review_status"]) == (
        409,
        "already_decided",
        "rejected",
    )

    batch = _anchor(client, operator)
    assert batch is not None and batch["count"] == 1  # the clean piece only
    certificate = client.get(f"/v1/certificates/{held['id']}", headers=author)
    assert (certificate.status_code, certificate.json()["rule"]) == (409, "rejected")
    mine = client.get("/v1/me/content", headers=author).json()["items"]
    assert {p["id"]: (p["review"] or {}).get("decision_reason") for p in mine} == {
        held["id"]: "Promises returns",
        clean["id"]: None,
    }
    stranger = login(make_user(Role.AUTHOR))
    assert client.get(f"/v1/content/{held['id']}", headers=stranger).status_code == 404
    assert client.get(f"/v1/certificates/{held['id']}", headers=stranger).status_code == 404
