"""Member data rights over HTTP: versioned consents gate members' writes, the data export is a
file, erasure is asked for by the member and executed by an operator."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine.contests import entries
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.conftest import PASSWORD
from tests.contest_builders import NOW

Headers = dict[str, str]
PROBLEM = "application/problem+json"


def _publish(client: TestClient, operator: Headers, kind: str, body: str) -> dict[str, object]:
    response = client.post(
        "/v1/admin/consent-documents",
        json={"kind": kind, "title": f"{kind} notice", "body": body},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _problem(response: object, status: int, rule: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["rule"] == rule, body
    return body  # type: ignore[no-any-return]


def test_a_new_terms_version_gates_member_writes_until_accepted(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    member = login(make_user())
    assert client.post("/v1/me/check-ins", headers=member).status_code == 201  # nothing published

    v1 = _publish(client, operator, "terms", "Play fair. v1")
    assert v1["version"] == 1 and len(str(v1["sha256"])) == 64
    blocked = _problem(client.post("/v1/me/follows/1", headers=member), 403, "consent_required")
    assert (blocked["kind"], blocked["version"], blocked["type"]) == (
        "terms",
        1,
        "/problems/consent-required",
    )
    assert client.get("/v1/me", headers=member).status_code == 200  # reads stay open
    assert client.post("/v1/admin/consent-documents", json={}, headers=member).status_code == 403
    listed = client.get("/v1/consent-documents").json()  # public: read before signing up
    assert [(d["kind"], d["version"]) for d in listed] == [("terms", 1)]

    missing = client.post("/v1/me/consents", json={"kind": "terms", "version": 2}, headers=member)
    assert missing.status_code == 404
    accepted = client.post("/v1/me/consents", json={"kind": "terms", "version": 1}, headers=member)
    assert accepted.status_code == 201 and accepted.json()["action"] == "accept"
    assert client.post("/v1/me/follows/1", headers=member).status_code != 403

    _publish(client, operator, "terms", "Play fair. v2")
    _problem(client.post("/v1/me/check-ins", headers=member), 403, "consent_required")
    stale = client.post("/v1/me/consents", json={"kind": "terms", "version": 1}, headers=member)
    assert _problem(stale, 422, "latest_version")["field"] == "version"
    client.post("/v1/me/consents", json={"kind": "terms", "version": 2}, headers=member)
    withdrawn = client.post("/v1/me/consents/terms/withdrawal", headers=member)
    assert withdrawn.status_code == 201 and withdrawn.json()["version"] == 2
    again = client.post("/v1/me/consents/terms/withdrawal", headers=member)
    _problem(again, 422, "consent_not_given")
    _problem(client.post("/v1/me/check-ins", headers=member), 403, "consent_required")

    mine = client.get("/v1/me/consents", headers=member).json()
    terms = next(s for s in mine["states"] if s["kind"] == "terms")
    assert (terms["latest_version"], terms["accepted_version"]) == (2, None)
    assert terms["current"] is False
    assert [(r["version"], r["action"]) for r in mine["history"]] == [
        (1, "accept"),
        (2, "accept"),
        (2, "withdraw"),
    ]
    # Operators are not gated (they publish the terms).
    assert client.post("/v1/me/check-ins", headers=operator).status_code == 201


def test_export_then_erase_over_http(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    operator_user = make_user(Role.OPERATOR)
    operator = login(operator_user)
    alice = make_user(username="alice-pipl")
    member = login(alice)
    assert client.post("/v1/me/check-ins", headers=member).status_code == 201

    exported = client.get("/v1/me/data-export", headers=member)
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="paperleague-member-{alice.id}.json"'
    )
    data = json.loads(exported.content)
    assert data["sections"]["account"]["user"]["username"] == "alice-pipl"
    assert "password_hash" not in data["sections"]["account"]["user"]
    assert len(data["sections"]["ledger"]["ledger_checkins"]) == 1
    assert {use["treatment"] for use in data["on_erasure"]} == {"deleted", "pseudonymised", "kept"}

    asked = client.post("/v1/me/erasure-request", json={"note": "bye"}, headers=member)
    assert asked.status_code == 202 and asked.json()["status"] == "pending"
    again = client.post("/v1/me/erasure-request", json={}, headers=member)
    assert again.json()["id"] == asked.json()["id"]
    pending = client.get("/v1/admin/erasure-requests?status=pending", headers=operator).json()
    assert [r["user_id"] for r in pending] == [alice.id]

    path = f"/v1/admin/users/{alice.id}/erase"
    _problem(client.post(path, json={"reason": "   "}, headers=operator), 422, "non_empty")
    _problem(client.post(path, json={}, headers=operator), 422, "missing")
    assert client.post(path, json={"reason": "asked"}, headers=member).status_code == 403
    erased = client.post(path, json={"reason": "request 1"}, headers=operator)
    assert erased.status_code == 200, erased.text
    outcome = erased.json()
    assert outcome["pseudonym"] == f"erased-{alice.id}" and not outcome["already_erased"]
    assert "ledger_transfers.debit_account" in outcome["kept"]
    assert client.get("/v1/me", headers=member).status_code == 401  # tokens revoked
    signed_in = client.post(
        "/v1/auth/token", data={"username": "alice-pipl", "password": PASSWORD}
    )
    assert signed_in.status_code == 401
    repeat = client.post(path, json={"reason": "request 1"}, headers=operator).json()
    assert repeat["already_erased"] and repeat["erased_at"] == outcome["erased_at"]

    after = client.get(f"/v1/admin/users/{alice.id}/data-export", headers=operator)
    assert after.status_code == 200 and b"alice-pipl" not in after.content
    assert json.loads(after.content)["sections"]["account"]["user"]["username"] == (
        f"erased-{alice.id}"
    )
    done = client.get("/v1/admin/erasure-requests?status=erased", headers=operator).json()
    assert [(r["user_id"], r["status"]) for r in done] == [(alice.id, "erased")]
    assert client.get("/v1/admin/ledger/verify", headers=operator).json()["ok"] is True
    assert client.post(
        "/v1/admin/users/2147483647/erase", json={"reason": "x"}, headers=operator
    ).status_code == 404


def test_a_live_contest_entry_blocks_erasure(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    operator_user = make_user(Role.OPERATOR)
    operator = login(operator_user)
    member = make_user()
    uow = EngineUnitOfWork(database.sessions)
    contest = build.contest(uow, build.season(uow, operator_user, days=6, count=2))
    entries.join_contest(uow, contest.id, member.id, now=NOW)

    refused = client.post(
        f"/v1/admin/users/{member.id}/erase", json={"reason": "asked"}, headers=operator
    )
    body = _problem(refused, 409, "erasure_blocked")
    assert str(contest.id) in str(body["reasons"])
    me = client.get("/v1/me", headers=login(member))
    assert me.status_code == 200 and me.json()["username"] == member.username
