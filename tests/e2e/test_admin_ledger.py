"""Operators' ledger routes over HTTP: trial balance, verify, manual adjustments, reversals."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from core.db import Database
from core.users.model import Role, User

PROBLEM = "application/problem+json"
GRANTS = "/v1/admin/points/grants"
TRIAL = "/v1/admin/ledger/trial-balance"
VERIFY = "/v1/admin/ledger/verify"

Headers = dict[str, str]


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.OPERATOR))


def _grant(member_id: int, amount: int, asset: str = "POINTS", **extra: Any) -> dict[str, Any]:
    return {"member_id": member_id, "asset": asset, "amount": amount, "reason": "goodwill"} | extra


def _balance(client: TestClient, headers: Headers, account: str, asset: str) -> dict[str, Any]:
    trial = client.get(TRIAL, headers=headers).json()
    found = [a for a in trial["accounts"] if (a["account"], a["asset"]) == (account, asset)]
    return found[0] if found else {}


def test_grant_shows_in_a_balanced_trial_balance(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    operator_user = make_user(Role.OPERATOR)
    operator = login(operator_user)
    made = client.post(GRANTS, headers=operator, json=_grant(7, 500, reference="ticket-12"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["id"].startswith("adjustment:") and len(body["id"]) == len("adjustment:") + 32
    assert (body["debit"], body["credit"], body["asset"]) == (
        "system:issuance",
        "member:7:points",
        "POINTS",
    )
    assert (body["amount"], body["reason"], body["kind"]) == (500, "adjustment", "posted")
    assert body["metadata"] == {"operator_id": operator_user.id, "note": "goodwill"}
    assert body["reference"] == "ticket-12" and body["seq"] == 1 and len(body["hash"]) == 64

    taken = client.post(GRANTS, headers=operator, json=_grant(7, -120))
    assert taken.status_code == 201, taken.text
    assert (taken.json()["debit"], taken.json()["credit"]) == ("member:7:points", "system:issuance")
    xp = client.post(GRANTS, headers=operator, json=_grant(7, 40, asset="XP"))
    assert xp.status_code == 201 and xp.json()["credit"] == "member:7:xp"

    trial = client.get(TRIAL, headers=operator)
    assert trial.status_code == 200
    assert trial.json()["balanced"] is True
    assert trial.json()["totals"] == {"POINTS": 0, "XP": 0}
    assert trial.json()["pending_totals"] == {"POINTS": 0, "XP": 0}
    member = _balance(client, operator, "member:7:points", "POINTS")
    assert member == {
        "account": "member:7:points",
        "asset": "POINTS",
        "posted": 380,
        "available": 380,
        "debits_posted": 120,
        "credits_posted": 500,
        "debits_pending": 0,
        "credits_pending": 0,
    }
    assert _balance(client, operator, "system:issuance", "POINTS")["posted"] == -380
    assert _balance(client, operator, "member:7:xp", "XP")["posted"] == 40


def test_debit_beyond_the_balance_is_refused_and_writes_nothing(
    client: TestClient, operator: Headers
) -> None:
    assert client.post(GRANTS, headers=operator, json=_grant(3, 100)).status_code == 201
    before = client.get(TRIAL, headers=operator).json()
    refused = client.post(GRANTS, headers=operator, json=_grant(3, -101))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"] == "/problems/insufficient-funds"
    assert refused.json()["field"] == "amount"
    assert client.get(TRIAL, headers=operator).json() == before
    assert client.get(VERIFY, headers=operator).json()["transfers"] == 1


@pytest.mark.parametrize(
    ("amount", "rule"),
    [
        (0, "non_zero"),
        (10**15 + 1, "less_than_equal"),
        (-(10**15) - 1, "greater_than_equal"),
        (10**30, "less_than_equal"),
        (1.5, "int_type"),
        (5.0, "int_type"),
        ("5", "int_type"),
        (True, "int_type"),
        (None, "int_type"),
    ],
)
def test_bad_amounts_are_422_naming_the_field(
    client: TestClient, operator: Headers, amount: object, rule: str
) -> None:
    response = client.post(GRANTS, headers=operator, json=_grant(1, 0) | {"amount": amount})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert (response.json()["field"], response.json()["rule"]) == ("amount", rule)
    assert client.get(VERIFY, headers=operator).json()["transfers"] == 0


def test_other_bad_grants_are_422(client: TestClient, operator: Headers) -> None:
    cases = {
        "member_id": _grant(0, 5),
        "asset": _grant(1, 5, asset="ITEM:mug"),
        "reason": _grant(1, 5, reason="   "),
        "reference": _grant(1, 5, reference="r" * 257),
    }
    for field, body in cases.items():
        response = client.post(GRANTS, headers=operator, json=body)
        assert (response.status_code, response.json()["field"]) == (422, field), field
    huge_member = client.post(GRANTS, headers=operator, json=_grant(2**31, 5))
    assert huge_member.json()["field"] == "member_id"
    missing_reason = {k: v for k, v in _grant(1, 5).items() if k != "reason"}
    assert client.post(GRANTS, headers=operator, json=missing_reason).json()["field"] == "reason"
    long_key = client.post(
        GRANTS, headers=operator | {"Idempotency-Key": "k" * 101}, json=_grant(1, 5)
    )
    assert (long_key.status_code, long_key.json()["field"]) == (422, "header.idempotency-key")
    assert client.get(VERIFY, headers=operator).json()["transfers"] == 0


def test_xp_is_never_debited(client: TestClient, operator: Headers) -> None:
    assert client.post(GRANTS, headers=operator, json=_grant(4, 50, asset="XP")).status_code == 201
    refused = client.post(GRANTS, headers=operator, json=_grant(4, -10, asset="XP"))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert (refused.json()["field"], refused.json()["rule"]) == ("amount", "xp_never_debited")
    assert _balance(client, operator, "member:4:xp", "XP")["posted"] == 50


def test_grant_replay_with_the_same_key_grants_once(
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    database: Database,
) -> None:
    operator_user = make_user(Role.OPERATOR)
    headers = login(operator_user) | {"Idempotency-Key": "grant-2026-03-01/a"}
    first = client.post(GRANTS, headers=headers, json=_grant(9, 250))
    assert first.status_code == 201, first.text
    assert first.json()["id"] == f"adjustment:{operator_user.id}:grant-2026-03-01/a"
    again = client.post(GRANTS, headers=headers, json=_grant(9, 250))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.json()["id"], again.json()["seq"]) == (first.json()["id"], first.json()["seq"])

    # Even with the HTTP layer's record gone, the transfer id keeps the grant single.
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM idempotency_keys"))
    late = client.post(GRANTS, headers=headers, json=_grant(9, 250))
    assert late.status_code == 201 and "idempotent-replayed" not in late.headers
    assert late.json() == first.json()
    assert _balance(client, headers, "member:9:points", "POINTS")["posted"] == 250

    other = client.post(GRANTS, headers=headers, json=_grant(9, 999))
    assert other.status_code == 409 and other.json()["conflicting"] == ["amount"]
    assert _balance(client, headers, "member:9:points", "POINTS")["posted"] == 250


def test_reversal_then_again_then_unknown(client: TestClient, operator: Headers) -> None:
    keyed = operator | {"Idempotency-Key": "orders/17"}
    original = client.post(GRANTS, headers=keyed, json=_grant(5, 300)).json()
    assert "/" in original["id"]  # transfer ids may hold "/", and the path takes them

    reversed_ = client.post(
        f"/v1/admin/transfers/{original['id']}/reversal",
        headers=operator,
        json={"reference": "wrong member"},
    )
    assert reversed_.status_code == 201, reversed_.text
    body = reversed_.json()
    assert body["reversal_of"] == original["id"] and body["reason"] == "reversal"
    assert (body["debit"], body["credit"], body["amount"]) == (
        "member:5:points",
        "system:issuance",
        300,
    )
    assert body["reference"] == "wrong member" and body["seq"] == original["seq"] + 1
    assert _balance(client, operator, "member:5:points", "POINTS")["posted"] == 0

    twice = client.post(f"/v1/admin/transfers/{original['id']}/reversal", headers=operator)
    assert twice.status_code == 409
    assert twice.headers["content-type"] == PROBLEM
    assert twice.json()["type"] == "/problems/transfer-already-reversed"
    assert twice.json()["reversal_id"] == body["id"]

    unknown = client.post("/v1/admin/transfers/no-such-transfer/reversal", headers=operator)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    too_long = client.post(f"/v1/admin/transfers/{'x' * 161}/reversal", headers=operator)
    assert (too_long.status_code, too_long.json()["field"]) == (422, "path.transfer_id")
    assert client.get(TRIAL, headers=operator).json()["balanced"] is True


def test_reversal_without_a_body_references_the_original(
    client: TestClient, operator: Headers
) -> None:
    original = client.post(GRANTS, headers=operator, json=_grant(6, 10)).json()
    made = client.post(f"/v1/admin/transfers/{original['id']}/reversal", headers=operator)
    assert made.status_code == 201, made.text
    assert made.json()["reference"] == original["id"]


def test_verify_reports_a_clean_and_a_forged_ledger(
    client: TestClient, operator: Headers, database: Database
) -> None:
    empty = client.get(VERIFY, headers=operator)
    assert empty.status_code == 200
    assert empty.json() == {"ok": True, "transfers": 0, "head_seq": 0, "errors": []}
    made = client.post(GRANTS, headers=operator, json=_grant(8, 70)).json()
    client.post(GRANTS, headers=operator, json=_grant(8, 30))
    clean = client.get(VERIFY, headers=operator).json()
    assert clean == {"ok": True, "transfers": 2, "head_seq": 2, "errors": []}

    with database.engine.begin() as connection:  # an attacker with the triggers switched off
        if database.is_sqlite:
            connection.execute(text("DROP TRIGGER ledger_transfers_no_update"))
        else:
            connection.execute(text("ALTER TABLE ledger_transfers DISABLE TRIGGER USER"))
        connection.execute(
            text("UPDATE ledger_transfers SET amount = 7000 WHERE id = :id"), {"id": made["id"]}
        )
    forged = client.get(VERIFY, headers=operator)
    assert forged.status_code == 200
    assert forged.json()["ok"] is False
    assert any("content does not match its hash" in e for e in forged.json()["errors"])


ROUTES = [
    ("GET", TRIAL, None),
    ("GET", VERIFY, None),
    ("POST", GRANTS, _grant(1, 5)),
    ("POST", "/v1/admin/transfers/anything/reversal", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_routes_are_for_operators_only(
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    member = login(make_user(Role.MEMBER, Role.AUTHOR))
    forbidden = client.request(method, path, headers=member, json=body)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == PROBLEM
    anonymous = client.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    operator = login(make_user(Role.OPERATOR))
    assert client.get(VERIFY, headers=operator).json()["transfers"] == 0
