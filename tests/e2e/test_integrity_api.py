"""One person, one entry over HTTP: signals at sign-up and login, the operator review queue."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.users.model import Role, User
from tests.conftest import PASSWORD

PROBLEM = "application/problem+json"


def _sign_up(client: TestClient, name: str, device: str) -> int:
    created = client.post(
        "/v1/auth/signup",
        json={"username": name, "password": PASSWORD, "display_name": name},
        headers={"X-Device-Id": device, "User-Agent": "e2e-browser"},
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _sign_in(client: TestClient, name: str, device: str) -> None:
    token = client.post(
        "/v1/auth/token",
        data={"username": name, "password": PASSWORD},
        headers={"X-Device-Id": device},
    )
    assert token.status_code == 200, token.text


def test_sign_up_and_login_record_signals_operators_read_them(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    alice = _sign_up(client, "alice", "browser-1")
    _sign_in(client, "alice", "browser-2")
    refused = client.post("/v1/auth/token", data={"username": "alice", "password": "wrong-one"})
    assert refused.status_code == 401

    signals = client.get(f"/v1/admin/integrity/users/{alice}/signals", headers=operator)
    assert signals.status_code == 200
    body = signals.json()
    assert [(s["kind"], s["device_id"]) for s in body] == [
        ("sign_up", "browser-1"),
        ("login", "browser-2"),
    ]
    assert body[0]["ip"] == "testclient"
    assert len(body[0]["user_agent_hash"]) == 64 and "e2e-browser" not in signals.text


def test_review_queue_scan_list_decide(
    app: FastAPI,
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    # Everyone here comes from the test client's address: listed as a shared NAT, it is ignored.
    app.state.settings = app.state.settings.model_copy(
        update={"integrity_ignored_ips": ["testclient"]}
    )
    operator = login(make_user(Role.OPERATOR))
    a = _sign_up(client, "anna", "phone-1")
    b = _sign_up(client, "bert", "phone-1")
    c = _sign_up(client, "carl", "phone-2")
    _sign_in(client, "bert", "phone-2")
    scanned = client.post("/v1/admin/integrity/scan", json={}, headers=operator)
    assert scanned.status_code == 200, scanned.text
    pairs = {tuple(k["member_ids"]): k for k in scanned.json()["opened"]}
    assert set(pairs) == {(a, b), (b, c)}
    assert all(k["kind"] == "shared_signal" and k["status"] == "open" for k in pairs.values())
    again = client.post("/v1/admin/integrity/scan", json={}, headers=operator)
    assert again.json()["opened"] == [] and again.json()["findings"] == 2

    first = client.get("/v1/admin/integrity/cases", params={"limit": 1}, headers=operator)
    assert first.status_code == 200
    assert len(first.json()["items"]) == 1 and first.json()["next_cursor"]
    rest = client.get(
        "/v1/admin/integrity/cases",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=operator,
    )
    listed = first.json()["items"] + rest.json()["items"]
    assert [k["id"] for k in listed] == sorted((k["id"] for k in pairs.values()), reverse=True)
    assert rest.json()["next_cursor"] is None

    case_id = pairs[(a, b)]["id"]
    shown = client.get(f"/v1/admin/integrity/cases/{case_id}", headers=operator)
    assert shown.status_code == 200
    assert [v["value"] for v in shown.json()["evidence"]["shared"]] == ["phone-1"]

    url = f"/v1/admin/integrity/cases/{case_id}/decision"
    decided = client.post(
        url, json={"decision": "same_person", "reason": "one ID card"}, headers=operator
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "same_person" and decided.json()["decided_at"]
    replay = client.post(
        url, json={"decision": "same_person", "reason": "one ID card"}, headers=operator
    )
    assert replay.status_code == 200 and replay.json() == decided.json()
    clash = client.post(url, json={"decision": "distinct", "reason": "oops"}, headers=operator)
    assert clash.status_code == 409
    assert clash.headers["content-type"] == PROBLEM
    assert (clash.json()["field"], clash.json()["rule"]) == ("decision", "case_decided")

    person = client.get(f"/v1/admin/integrity/persons/{b}", headers=operator)
    assert person.json() == {"person_id": a, "member_ids": [a, b]}
    alone = client.get(f"/v1/admin/integrity/persons/{c}", headers=operator)
    assert alone.json() == {"person_id": c, "member_ids": [c]}

    open_only = client.get("/v1/admin/integrity/cases", params={"status": "open"}, headers=operator)
    assert [k["id"] for k in open_only.json()["items"]] == [pairs[(b, c)]["id"]]


def test_review_queue_unhappy_paths(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    member = login(make_user())
    operator = login(make_user(Role.OPERATOR))
    assert client.get("/v1/admin/integrity/cases", headers=member).status_code == 403
    assert client.post("/v1/admin/integrity/scan", json={}, headers=member).status_code == 403
    assert client.get("/v1/admin/integrity/cases").status_code == 401

    missing = client.post(
        "/v1/admin/integrity/cases/4242/decision",
        json={"decision": "distinct", "reason": "x"},
        headers=operator,
    )
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert client.get("/v1/admin/integrity/cases/4242", headers=operator).status_code == 404

    for body, field in [
        ({"decision": "maybe", "reason": "x"}, "decision"),
        ({"decision": "distinct", "reason": ""}, "reason"),
        ({"decision": "distinct"}, "reason"),
    ]:
        bad = client.post("/v1/admin/integrity/cases/1/decision", json=body, headers=operator)
        assert bad.status_code == 422, body
        assert field in {e["field"].split(".")[-1] for e in bad.json()["errors"]}, bad.json()
    blank = client.post(
        "/v1/admin/integrity/cases/1/decision",
        json={"decision": "distinct", "reason": "   "},
        headers=operator,
    )
    assert blank.status_code in (404, 422)  # no case 1 here, or a blank reason
    unknown = client.post("/v1/admin/integrity/scan", json={"contest_ids": [999]}, headers=operator)
    assert unknown.status_code == 404
    cursor = client.get(
        "/v1/admin/integrity/cases", params={"cursor": "not-ours"}, headers=operator
    )
    assert cursor.status_code == 422 and cursor.json()["rule"] == "valid_cursor"
