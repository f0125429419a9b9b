"""Content certification over HTTP: register, anchor, download, verify — and the bad paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from contracts.anchoring import Registry
from contracts.chain import Chain
from contracts.chain_reader import OnChainReader
from contracts.registry import RegistryClient
from contracts.verification import ChainReader
from core.config import Settings
from core.db import Database
from core.users.model import Role, User
from tests.conftest import make_settings
from tests.fake_chain import FakeRegistry

Headers = dict[str, str]
NOTE = "Foundry capex is underrated.\n\nThree reasons follow: pricing, share, and yield."


@dataclass
class StaticChain:
    registry_: Registry
    reader_: ChainReader

    def registry(self) -> Registry:
        return self.registry_

    def reader(self) -> ChainReader:
        return self.reader_


@pytest.fixture
def on_chain(app: FastAPI, eth_tester_chain: Chain) -> RegistryClient:
    registry = RegistryClient.deploy(eth_tester_chain)
    app.state.content_chain = StaticChain(registry, OnChainReader(eth_tester_chain))
    return registry


@pytest.fixture
def author(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.AUTHOR))


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.OPERATOR))


def _register(
    client: TestClient, headers: Headers, text: str = NOTE, **extra: str
) -> dict[str, Any]:
    response = client.post(
        "/v1/content", json={"title": "Capex", "text": text, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_register_anchor_download_and_verify(
    client: TestClient, on_chain: RegistryClient, author: Headers, operator: Headers
) -> None:
    piece = _register(client, author, content_type="text/markdown")
    assert (piece["status"], piece["certificate_url"], piece["flagged"]) == ("pending", None, False)
    assert client.get(f"/v1/certificates/{piece['id']}", headers=author).status_code == 409

    anchored = client.post("/v1/admin/anchors", headers=operator)
    assert anchored.status_code == 200, anchored.text
    batch = anchored.json()["batch"]
    assert (batch["count"], batch["status"], batch["contract_address"]) == (
        1,
        "anchored",
        on_chain.address,
    )
    listed = client.get("/v1/admin/anchors", headers=operator).json()["items"]
    assert [b["id"] for b in listed] == [batch["id"]]
    mine = client.get("/v1/me/content", headers=author).json()["items"]
    assert mine[0]["status"] == "anchored"

    download = client.get(mine[0]["certificate_url"], headers=author)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    certificate = download.json()
    assert certificate["root"] == batch["root"]
    assert certificate["block_timestamp"] == batch["block_timestamp"]

    verdict = client.post(
        "/v1/certificates/verify", json={"certificate": certificate, "content": NOTE}
    )  # public: no token
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["valid"] is True
    assert {c["status"] for c in verdict.json()["checks"]} == {"passed"}

    tampered = client.post(
        "/v1/certificates/verify",
        json={"certificate": certificate, "content": NOTE.replace("Three", "Four")},
    )
    assert tampered.json()["valid"] is False
    assert tampered.json()["failed"] == ["content_hash"]

    forged = certificate | {"root": "0x" + "00" * 32}
    forged_verdict = client.post(
        "/v1/certificates/verify", json={"certificate": forged, "content": NOTE}
    ).json()
    assert forged_verdict["failed"][0] == "proof"

    malformed = client.post(
        "/v1/certificates/verify",
        json={"certificate": certificate | {"salt": "0x12"}, "content": NOTE},
    )
    assert malformed.status_code == 422
    assert (malformed.json()["field"], malformed.json()["rule"]) == ("salt", "hex32")


def test_file_upload_and_multipart_verify(
    client: TestClient, on_chain: RegistryClient, author: Headers, operator: Headers
) -> None:
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    response = client.post(
        "/v1/content",
        data={"title": "Deck"},
        files={"file": ("deck.pdf", pdf, "application/pdf")},
        headers=author,
    )
    assert response.status_code == 201, response.text
    piece = response.json()
    assert piece["content_type"] == "application/pdf"
    assert piece["content_sha256"] == piece["normalized_sha256"]
    client.post("/v1/admin/anchors", headers=operator)
    certificate = client.get(f"/v1/certificates/{piece['id']}", headers=operator).content

    def verify(content: bytes) -> dict[str, Any]:
        return client.post(
            "/v1/certificates/verify",
            files={"certificate": ("c.json", certificate), "content": ("deck.pdf", content)},
        ).json()

    assert verify(pdf)["valid"] is True
    assert verify(pdf + b"\n")["failed"] == ["content_hash"]
    as_base64 = client.post(
        "/v1/certificates/verify",
        json={"certificate": json.loads(certificate), "content_base64": "not base64!"},
    )
    assert (as_base64.status_code, as_base64.json()["field"]) == (422, "content_base64")


def test_bad_submissions_are_problems(client: TestClient, author: Headers) -> None:
    def post(**kwargs: object) -> tuple[int, str | None]:
        headers = author | dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
        response = client.post("/v1/content", headers=headers, **kwargs)  # type: ignore[arg-type]
        body = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        return response.status_code, body.get("rule")

    assert post(json={"title": "t", "text": ""}) == (422, "string_too_short")
    assert post(json={"title": "t", "text": "  \n "}) == (422, "non_empty")
    assert post(json={"title": "t", "text": "x", "content_type": "image/png"})[0] == 422
    assert post(data={"title": "t"}, files={"file": ("a.png", b"\x89PNG", "image/png")}) == (
        422,
        "allowed_content_type",
    )
    assert post(data={"title": "t"}, files={"file": ("a.txt", b"", "text/plain")}) == (
        422,
        "non_empty",
    )
    assert post(content=b"hello", headers={"content-type": "text/plain"})[0] == 415
    assert post(json={"title": "t", "text": "x" * 1_000_001})[0] in (413, 422)


def test_authors_only_and_prior_art(
    client: TestClient,
    author: Headers,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    member = login(make_user(Role.MEMBER))
    assert (
        client.post("/v1/content", json={"title": "t", "text": "x"}, headers=member).status_code
        == 403
    )
    first = _register(client, author)
    other_author = login(make_user(Role.AUTHOR))
    again = client.post(
        "/v1/content",
        json={"title": "Copy", "text": NOTE.replace("\n", "\r\n")},
        headers=other_author,
    )
    assert again.status_code == 409
    assert again.json()["certificate_id"] == first["id"]
    assert client.get(f"/v1/certificates/{first['id']}", headers=other_author).status_code == 404


def test_policy_and_terms_endpoints_steer_registration(
    client: TestClient, author: Headers, operator: Headers
) -> None:
    policy = client.get("/v1/admin/content/policy", headers=operator).json()
    assert policy == {
        "near_duplicate_action": "flag",
        "near_duplicate_threshold": "0.70",
        "compliance_action": "flag",
    }
    flagged = _register(client, author, "这只基金稳赚不赔。")
    assert flagged["flagged"] and flagged["compliance_hits"][0]["term"] == "稳赚"

    terms = client.put(
        "/v1/admin/content/compliance-terms",
        json={"terms": ["moon soon", "稳赚", "MOON SOON"]},
        headers=operator,
    )
    assert terms.json() == {"terms": ["moon soon", "稳赚"]}
    blocking = client.put(
        "/v1/admin/content/policy",
        json={
            "near_duplicate_action": "block",
            "near_duplicate_threshold": "0.80",
            "compliance_action": "block",
        },
        headers=operator,
    )
    assert blocking.status_code == 200, blocking.text
    blocked = client.post(
        "/v1/content", json={"title": "t", "text": "To the MOON\nsoon!"}, headers=author
    )
    assert (blocked.status_code, blocked.json()["rule"]) == (422, "prohibited_claim")
    assert blocked.json()["matches"] == [{"term": "moon soon", "start": 7, "end": 16}]
    near = client.post(
        "/v1/content", json={"title": "t", "text": "这只基金稳赚不赔!"}, headers=author
    )
    assert near.status_code == 422  # compliance or near-duplicate: both block now

    bad = client.put(
        "/v1/admin/content/policy",
        json={
            "near_duplicate_action": "warn",
            "near_duplicate_threshold": "0.3",
            "compliance_action": "flag",
        },
        headers=operator,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "near_duplicate_action",
        "near_duplicate_threshold",
    }
    assert client.get("/v1/admin/content/policy", headers=author).status_code == 403


def test_a_chain_failure_is_503_and_content_stays_pending(
    app: FastAPI, client: TestClient, author: Headers, operator: Headers
) -> None:
    fake = FakeRegistry()
    app.state.content_chain = StaticChain(fake, fake.reader())
    piece = _register(client, author)
    fake.fail_next()
    failed = client.post("/v1/admin/anchors", headers=operator)
    assert failed.status_code == 503 and failed.json()["type"] == "/problems/chain-unavailable"
    assert client.get("/v1/me/content", headers=author).json()["items"][0]["status"] == "pending"
    retried = client.post("/v1/admin/anchors", headers=operator).json()
    assert retried["batch"]["attempts"] == 2
    assert client.get(f"/v1/certificates/{piece['id']}", headers=author).status_code == 200


def test_a_full_batch_is_anchored_automatically(
    db_url: str, database: Database, make_user: Callable[..., User]
) -> None:
    from api.http.app import create_app

    app = create_app(make_settings(db_url, anchor_batch_size=2), database=database)
    fake = FakeRegistry()
    app.state.content_chain = StaticChain(fake, fake.reader())
    with TestClient(app) as client:
        token = client.post(
            "/v1/auth/token",
            data={"username": make_user(Role.AUTHOR).username, "password": "correct horse battery"},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        _register(client, headers, "first piece")
        assert fake.anchors == []
        _register(client, headers, "second piece")  # the batch is full: anchored after the 201
        assert len(fake.anchors) == 1 and fake.anchors[0].count == 2
        statuses = [
            p["status"] for p in client.get("/v1/me/content", headers=headers).json()["items"]
        ]
        assert statuses == ["anchored", "anchored"]


def test_the_default_chain_is_deployed_on_first_use_and_remembered(
    client: TestClient, settings: Settings, database: Database, author: Headers, operator: Headers
) -> None:
    """No override: the in-process chain, a registry deployed once and recorded per chain id."""
    piece = _register(client, author)
    batch = client.post("/v1/admin/anchors", headers=operator).json()["batch"]
    from contracts.uow import ContentUnitOfWork

    uow = ContentUnitOfWork(database.sessions)
    with uow.reading():
        assert uow.content.deployment(batch["chain_id"]) == batch["contract_address"]
    certificate = client.get(f"/v1/certificates/{piece['id']}", headers=author).json()
    verdict = client.post(
        "/v1/certificates/verify", json={"certificate": certificate, "content": NOTE}
    )
    assert verdict.json()["valid"] is True, verdict.json()


def test_the_background_loop_anchors_content_that_waited_long_enough(
    db_url: str, database: Database, make_user: Callable[..., User]
) -> None:
    import time

    from api.http.app import create_app

    app = create_app(make_settings(db_url, anchor_max_wait_seconds=1), database=database)
    fake = FakeRegistry()
    app.state.content_chain = StaticChain(fake, fake.reader())
    with TestClient(app) as client:
        token = client.post(
            "/v1/auth/token",
            data={"username": make_user(Role.AUTHOR).username, "password": "correct horse battery"},
        ).json()["access_token"]
        _register(client, {"Authorization": f"Bearer {token}"}, "waits for the timer")
        deadline = time.monotonic() + 10
        while not fake.anchors and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(fake.anchors) == 1 and fake.anchors[0].count == 1
