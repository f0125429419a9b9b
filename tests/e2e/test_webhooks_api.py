"""Operators' webhook routes over HTTP: endpoints CRUD, 422s naming the rule, deliveries and
retrying a failed one; members are refused."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from core.db import Database
from core.outbox import RetryPolicy
from core.outbox_store import record_event
from core.users.model import Role, User
from core.webhooks import WebhooksUnitOfWork, create_endpoint, dispatch_once
from tests.conftest import make_settings
from tests.webhook_receiver import receiver

Headers = dict[str, str]
HOOKS = "/v1/admin/webhooks"


@pytest.fixture
def operator(make_user: Callable[..., User], login: Callable[[User], Headers]) -> Headers:
    return login(make_user(Role.OPERATOR))


def test_endpoints_crud_and_a_failed_delivery_retried(
    client: TestClient, operator: Headers, database: Database
) -> None:
    with receiver(status=503) as server:
        made = client.post(
            HOOKS, json={"url": server.url, "kinds": ["prize.paid"]}, headers=operator
        )
        assert made.status_code == 201, made.text
        endpoint = made.json()
        assert endpoint["secret"].startswith("whsec_") and endpoint["active"] is True
        shown = client.get(f"{HOOKS}/{endpoint['id']}", headers=operator).json()
        assert "secret" not in shown and shown["kinds"] == ["prize.paid"]
        assert [e["id"] for e in client.get(HOOKS, headers=operator).json()] == [endpoint["id"]]

        uow = WebhooksUnitOfWork(database.sessions)
        with uow:
            record_event(uow.session, "prize.paid", {"award_id": "p"}, "prize.paid:p")
            uow.commit()
        dispatch_once(uow, policy=RetryPolicy(max_attempts=1))
        failed = client.get(f"{HOOKS}/deliveries", params={"status": "failed"}, headers=operator)
        assert failed.status_code == 200, failed.text
        [delivery] = failed.json()["items"]
        assert (delivery["event_id"], delivery["last_status_code"]) == ("prize.paid:p", 503)

        attempts = client.get(f"{HOOKS}/deliveries/{delivery['id']}/attempts", headers=operator)
        assert [(a["attempt"], a["status_code"]) for a in attempts.json()] == [(1, 503)]
        missing = client.get(f"{HOOKS}/deliveries/2147483647/attempts", headers=operator)
        assert missing.status_code == 404
        server.status = 200
        retried = client.post(f"{HOOKS}/deliveries/{delivery['id']}/retry", headers=operator)
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        again = client.post(f"{HOOKS}/deliveries/{delivery['id']}/retry", headers=operator)
        assert again.status_code == 409 and again.json()["rule"] == "failed_only"
        dispatch_once(uow, policy=RetryPolicy(max_attempts=1))
        done = client.get(f"{HOOKS}/deliveries", params={"status": "delivered"}, headers=operator)
        assert [d["id"] for d in done.json()["items"]] == [delivery["id"]]

    changed = client.patch(
        f"{HOOKS}/{endpoint['id']}", json={"active": False, "kinds": ["level.up"]}, headers=operator
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert client.delete(f"{HOOKS}/{endpoint['id']}", headers=operator).status_code == 204
    assert client.get(f"{HOOKS}/{endpoint['id']}", headers=operator).status_code == 404
    assert client.get(f"{HOOKS}/deliveries", headers=operator).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"url": "ftp://example.com", "kinds": ["level.up"]}, "url", "webhook_url"),
        ({"url": "https://example.com/h", "kinds": ["level.down"]}, "kinds", "event_kind"),
        ({"url": "https://example.com/h", "kinds": []}, "kinds", "event_kind"),
        (
            {"url": "https://example.com/h", "kinds": ["pk.result"], "secret": "short"},
            "secret",
            "string_too_short",
        ),
    ],
)
def test_bad_endpoints_are_422_naming_field_and_rule(
    client: TestClient, operator: Headers, body: dict[str, object], field: str, rule: str
) -> None:
    refused = client.post(HOOKS, json=body, headers=operator)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert (problem["field"], problem["rule"]) == (field, rule)
    assert client.get(HOOKS, headers=operator).json() == []


def test_members_cannot_see_or_register_webhooks(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    member = login(make_user(Role.MEMBER))
    assert client.get(HOOKS, headers=member).status_code == 403
    body = {"url": "https://example.com/h", "kinds": ["level.up"]}
    assert client.post(HOOKS, json=body, headers=member).status_code == 403
    assert client.get(f"{HOOKS}/deliveries", headers=member).status_code == 403


def test_the_app_runs_a_dispatcher_when_configured(db_url: str, database: Database) -> None:
    app = create_app(
        make_settings(db_url, webhook_dispatch_interval_seconds=0.05), database=database
    )
    uow = WebhooksUnitOfWork(database.sessions)
    with receiver() as server, TestClient(app):
        create_endpoint(uow, server.url, kinds=["level.up"], secret="y" * 16)
        with uow:
            record_event(uow.session, "level.up", {"member_id": 1}, "level.up:app")
            uow.commit()
        deadline = time.monotonic() + 20
        while not server.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [got.headers["x-paperleague-event-id"] for got in server.received] == ["level.up:app"]


def test_an_unparsable_url_is_422_not_500(client: TestClient, operator: Headers) -> None:
    for url in ("http://[::1", "http://example.com:99999/"):
        refused = client.post(HOOKS, json={"url": url, "kinds": ["level.up"]}, headers=operator)
        assert refused.status_code == 422 and refused.json()["rule"] == "webhook_url"
