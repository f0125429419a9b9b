"""The operator audit log over HTTP: every non-GET route under /v1/admin writes one entry when
it succeeds (the routes come from the app's route table, so a new unaudited one fails here),
a refused action writes none, and operators search the log with filters and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.testclient import TestClient

from api.http.audit import audit_spec
from core.audit.services import AuditUnitOfWork, verify_audit_chain
from core.db import Database
from core.outbox import RetryPolicy
from core.outbox_store import record_event
from core.webhooks import WebhooksUnitOfWork, dispatch_once
from engine.leagues import model as league_model
from engine.leagues import services as leagues
from engine.leagues.uow import LeagueUnitOfWork
from ledger.quizzes import services as quizzes
from tests.api_world import Served, World, world_on
from tests.conftest import BACKENDS, PASSWORD

PROBLEM = "application/problem+json"
Context = dict[str, Any]
# (path, json body) for a request that succeeds, given the world and earlier results.
Example = Callable[[TestClient, World, Context], tuple[str, Any]]


def _got(client: TestClient, world: World, path: str) -> Any:
    response = client.get(path, headers=world.headers["operator"])
    assert response.status_code == 200, response.text
    return response.json()


def _second_redemption(client: TestClient, world: World, _: Context) -> tuple[str, Any]:
    member = world.headers["member"]
    response = client.post(f"/v1/rewards/{world.item_id}/redemptions", headers=member)
    assert response.status_code == 201, response.text
    return f"/v1/admin/redemptions/{response.json()['id']}/cancel", None


def _season(client: TestClient, world: World, _: Context) -> tuple[str, Any]:
    today = date.today()
    return "/v1/admin/seasons", {
        "name": "Audited season",
        "timezone": "Asia/Shanghai",
        "starts_on": str(today),
        "ends_on": str(today + timedelta(days=30)),
        "market": "CN",
        "universe": [world.symbol],
        "replay_start": "2024-01-01",
        "replay_end": "2024-01-19",
    }


def _database(client: TestClient) -> Database:
    database: Database = client.app.state.database  # type: ignore[attr-defined]
    return database


def _held_piece(client: TestClient, world: World, text: str) -> int:
    """An author's piece the policy holds for review (it names a compliance term)."""
    response = client.post(
        "/v1/content", json={"title": "Held", "text": text}, headers=world.headers["author"]
    )
    assert response.status_code == 201, response.text
    assert response.json()["review"]["status"] == "pending", response.text
    return int(response.json()["id"])


def _approve(client: TestClient, world: World, _: Context) -> tuple[str, Any]:
    content_id = _held_piece(client, world, "Chips: a guaranteed return of 8% a year.")
    return f"/v1/admin/content/reviews/{content_id}/approve", {"reason": "Quoted, not promised"}


def _reject(client: TestClient, world: World, _: Context) -> tuple[str, Any]:
    content_id = _held_piece(client, world, "Banks: a guaranteed return, no risk at all.")
    return f"/v1/admin/content/reviews/{content_id}/reject", {"reason": "Promises a return"}


def _question(text: str) -> dict[str, Any]:
    return {
        "kind": "single",
        "text": text,
        "options": ["SSE Composite", "Nikkei 225", "DAX"],
        "correct": [0],
        "explanation": "The SSE Composite covers Shanghai-listed shares.",
        "tags": ["indices"],
    }


def _quiz(x: Context, title: str) -> dict[str, Any]:
    """A quiz on the bank's question, opening in an hour (so it may still be edited)."""
    opens = datetime.now(UTC) + timedelta(hours=1)
    return {
        "title": title,
        "opens_at": opens.isoformat(),
        "closes_at": (opens + timedelta(hours=1)).isoformat(),
        "seconds_per_question": 30,
        "question_ids": [x["POST /v1/admin/quiz/questions"]["id"]],
        "reward_tiers": [{"basis": "rank", "low": 1, "high": 1, "points": 20, "xp": 2}],
    }


def _closed_quiz(client: TestClient, world: World, x: Context) -> tuple[str, Any]:
    """A quiz published while open and closed since (the HTTP routes cannot schedule the
    past: made through the service, with its clock, so that no audited route runs)."""
    closes = datetime.now(UTC) - timedelta(minutes=1)
    spec = quizzes.QuizSpec(
        title="Closed quiz",
        opens_at=closes - timedelta(hours=1),
        closes_at=closes,
        seconds_per_question=30,
        question_ids=(x["POST /v1/admin/quiz/questions"]["id"],),
    )
    uow = quizzes.QuizUnitOfWork(_database(client).sessions)
    made = quizzes.create_quiz(uow, spec, operator_id=world.user_ids["operator"], now=spec.opens_at)
    quizzes.publish_quiz(uow, made.id, now=spec.opens_at)
    return f"/v1/admin/quiz/quizzes/{made.id}/settlement", None


def _failed_delivery(client: TestClient, world: World, _: Context) -> tuple[str, Any]:
    """The sweep's endpoint misses an event's only attempt (its receiver answers 503)."""
    uow = WebhooksUnitOfWork(_database(client).sessions)
    with uow:
        record_event(uow.session, "prize.paid", {"award_id": "audit"}, "prize.paid:audit")
        uow.commit()
    dispatch_once(uow, sender=lambda *_: 503, policy=RetryPolicy(max_attempts=1))
    failed = client.get(
        "/v1/admin/webhooks/deliveries",
        params={"status": "failed"},
        headers=world.headers["operator"],
    ).json()["items"]
    [delivery] = [d for d in failed if d["event_id"] == "prize.paid:audit"]
    return f"/v1/admin/webhooks/deliveries/{delivery['id']}/retry", None


def _ended_league_week(client: TestClient, world: World, _: Context) -> tuple[str, Any]:
    """A league week that ended last week (opened through the services: HTTP opens this one)."""
    uow = LeagueUnitOfWork(_database(client).sessions)
    past = leagues.open_week(uow, now=datetime.now(UTC) - 2 * league_model.WEEK)
    return f"/v1/admin/leagues/weeks/{past.id}/close", None


# In the order they run: a reversal undoes the grant before it, settlement follows the clock,
# the policy holds claims for review before a held piece is decided, a scan opens the case
# decided after it, a quiz uses the question created before it.
SUCCEEDS: dict[tuple[str, str], Example] = {
    ("POST", "/v1/admin/users"): lambda c, w, x: (
        "/v1/admin/users",
        {
            "username": "audited-author",
            "display_name": "Audited",
            "password": PASSWORD,
            "roles": ["author"],
        },
    ),
    ("PUT", "/v1/admin/users/{user_id}/roles"): lambda c, w, x: (
        f"/v1/admin/users/{w.user_ids['member_b']}/roles",
        {"roles": ["member", "author"]},
    ),
    ("POST", "/v1/admin/users/{user_id}/erase"): lambda c, w, x: (
        f"/v1/admin/users/{x['POST /v1/admin/users']['id']}/erase",
        {"reason": "The member asked to be erased"},
    ),
    ("POST", "/v1/admin/points/grants"): lambda c, w, x: (
        "/v1/admin/points/grants",
        {"member_id": w.user_ids["member"], "asset": "POINTS", "amount": 50, "reason": "audit"},
    ),
    ("POST", "/v1/admin/transfers/{transfer_id:path}/reversal"): lambda c, w, x: (
        f"/v1/admin/transfers/{x['POST /v1/admin/points/grants']['id']}/reversal",
        None,
    ),
    ("PUT", "/v1/admin/levels"): lambda c, w, x: (
        "/v1/admin/levels",
        {"levels": _got(c, w, "/v1/admin/levels")["levels"]},
    ),
    ("PUT", "/v1/admin/earning-rules"): lambda c, w, x: (
        "/v1/admin/earning-rules",
        _got(c, w, "/v1/admin/earning-rules"),
    ),
    ("POST", "/v1/admin/rewards"): lambda c, w, x: (
        "/v1/admin/rewards",
        {"key": "cap", "name": "Cap", "cost_points": 10, "stock": 3},
    ),
    ("POST", "/v1/admin/redemptions/{redemption_id}/fulfil"): lambda c, w, x: (
        f"/v1/admin/redemptions/{w.redemption_id}/fulfil",
        None,
    ),
    ("POST", "/v1/admin/redemptions/{redemption_id}/cancel"): _second_redemption,
    ("POST", "/v1/admin/anchors"): lambda c, w, x: ("/v1/admin/anchors", None),
    ("PUT", "/v1/admin/content/compliance-terms"): lambda c, w, x: (
        "/v1/admin/content/compliance-terms",
        {"terms": ["guaranteed return"]},
    ),
    ("PUT", "/v1/admin/content/policy"): lambda c, w, x: (
        "/v1/admin/content/policy",
        _got(c, w, "/v1/admin/content/policy") | {"compliance_action": "review"},
    ),
    ("POST", "/v1/admin/content/reviews/{content_id}/approve"): _approve,
    ("POST", "/v1/admin/content/reviews/{content_id}/reject"): _reject,
    ("POST", "/v1/admin/consent-documents"): lambda c, w, x: (
        "/v1/admin/consent-documents",
        {"kind": "privacy", "title": "Privacy notice", "body": "We keep what the rules need."},
    ),
    ("POST", "/v1/admin/integrity/scan"): lambda c, w, x: ("/v1/admin/integrity/scan", {}),
    ("POST", "/v1/admin/integrity/cases/{case_id}/decision"): lambda c, w, x: (
        f"/v1/admin/integrity/cases/{x['POST /v1/admin/integrity/scan']['opened'][0]['id']}"
        "/decision",
        {"decision": "distinct", "reason": "One office network"},
    ),
    ("POST", "/v1/admin/quiz/questions"): lambda c, w, x: (
        "/v1/admin/quiz/questions",
        _question("Which index tracks Shanghai A-shares?"),
    ),
    ("PUT", "/v1/admin/quiz/questions/{question_id}"): lambda c, w, x: (
        f"/v1/admin/quiz/questions/{x['POST /v1/admin/quiz/questions']['id']}",
        _question("Which index covers Shanghai-listed shares?"),
    ),
    ("POST", "/v1/admin/quiz/quizzes"): lambda c, w, x: (
        "/v1/admin/quiz/quizzes",
        _quiz(x, "Audited quiz"),
    ),
    ("PUT", "/v1/admin/quiz/quizzes/{quiz_id}"): lambda c, w, x: (
        f"/v1/admin/quiz/quizzes/{x['POST /v1/admin/quiz/quizzes']['id']}",
        _quiz(x, "Renamed quiz"),
    ),
    ("POST", "/v1/admin/quiz/quizzes/{quiz_id}/publish"): lambda c, w, x: (
        f"/v1/admin/quiz/quizzes/{x['POST /v1/admin/quiz/quizzes']['id']}/publish",
        None,
    ),
    ("POST", "/v1/admin/quiz/quizzes/{quiz_id}/settlement"): _closed_quiz,
    ("DELETE", "/v1/admin/quiz/questions/{question_id}"): lambda c, w, x: (
        f"/v1/admin/quiz/questions/{x['POST /v1/admin/quiz/questions']['id']}",
        None,
    ),
    ("POST", "/v1/admin/experiments"): lambda c, w, x: (
        "/v1/admin/experiments",
        {
            "key": "audited-bonus",
            "title": "Audited bonus",
            "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1, "reward": 20}],
        },
    ),
    ("POST", "/v1/admin/campaigns"): lambda c, w, x: (
        "/v1/admin/campaigns",
        {
            "key": "audited-campaign",
            "title": "Audited campaign",
            "kind": "points",
            "budget": 100,
            "reward": 10,
            "starts_at": "2020-01-01T00:00:00Z",
            "ends_at": "2100-01-01T00:00:00Z",
            "experiment_key": "audited-bonus",
        },
    ),
    ("POST", "/v1/admin/campaigns/{key}/grants"): lambda c, w, x: (
        "/v1/admin/campaigns/audited-campaign/grants",
        {"member_id": w.user_ids["member"], "operation": "audit-sweep"},
    ),
    ("PUT", "/v1/admin/leagues/settings"): lambda c, w, x: (
        "/v1/admin/leagues/settings",
        _got(c, w, "/v1/admin/leagues/settings") | {"cohort_size": 20},
    ),
    ("POST", "/v1/admin/leagues/weeks"): lambda c, w, x: ("/v1/admin/leagues/weeks", None),
    ("POST", "/v1/admin/leagues/weeks/{week_id}/close"): _ended_league_week,
    ("POST", "/v1/admin/webhooks"): lambda c, w, x: (
        "/v1/admin/webhooks",
        {
            "url": "https://hooks.example.com/paperleague",
            "kinds": ["prize.paid"],
            "secret": "audit-sweep-webhook-secret",
        },
    ),
    ("POST", "/v1/admin/webhooks/deliveries/{delivery_id}/retry"): _failed_delivery,
    ("PATCH", "/v1/admin/webhooks/{endpoint_id}"): lambda c, w, x: (
        f"/v1/admin/webhooks/{x['POST /v1/admin/webhooks']['id']}",
        {"active": False},
    ),
    ("DELETE", "/v1/admin/webhooks/{endpoint_id}"): lambda c, w, x: (
        f"/v1/admin/webhooks/{x['POST /v1/admin/webhooks']['id']}",
        None,
    ),
    ("POST", "/v1/admin/segments"): lambda c, w, x: (
        "/v1/admin/segments",
        {"key": "audited", "name": "Audited", "definition": {"tag": "new"}},
    ),
    ("POST", "/v1/admin/segments/preview"): lambda c, w, x: (
        "/v1/admin/segments/preview",
        {"definition": {"not": {"tag": "dormant"}}},
    ),
    ("POST", "/v1/admin/segment-tags/refresh"): lambda c, w, x: (
        "/v1/admin/segment-tags/refresh",
        None,
    ),
    ("POST", "/v1/admin/seasons"): _season,
    ("PATCH", "/v1/admin/seasons/{season_id}"): lambda c, w, x: (
        f"/v1/admin/seasons/{w.season_id}",
        {"name": "Renamed season"},
    ),
    ("POST", "/v1/admin/contests"): lambda c, w, x: (
        "/v1/admin/contests",
        {
            "season_id": w.season_id,
            "title": "Audited cup",
            "trading_start": "2024-01-01",
            "trading_end": "2024-01-19",
            "starting_cash": "1000000.00",
        },
    ),
    ("PATCH", "/v1/admin/contests/{contest_id}"): lambda c, w, x: (  # not started: not locked
        f"/v1/admin/contests/{x['POST /v1/admin/contests']['id']}",
        {"title": "Renamed cup"},
    ),
    ("POST", "/v1/admin/contests/{contest_id}/clock"): lambda c, w, x: (
        f"/v1/admin/contests/{w.contest_id}/clock",
        {"bars": 1000},
    ),
    ("POST", "/v1/admin/contests/{contest_id}/settlement"): lambda c, w, x: (
        f"/v1/admin/contests/{w.contest_id}/settlement",
        None,
    ),
}


def operator_writes(app: FastAPI) -> list[tuple[str, str, Callable[..., Any]]]:
    """Every non-GET route under /v1/admin in the app's route table (included routers
    flattened): (method, full path, endpoint)."""
    return [
        (method, str(context.path), context.original_route.endpoint)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and str(context.path).startswith("/v1/admin")
        for method in sorted(context.original_route.methods - {"GET", "HEAD"})
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """One world per backend for the module: the tests below run in order and build on the
    entries the route sweep writes."""
    name = "sqlite_databases" if request.param == "sqlite" else "postgres_databases"
    databases = request.getfixturevalue(name)
    url = databases.migrated()
    try:
        with world_on(url) as served:
            yield served
    finally:
        databases.drop(url)


def _log(app: FastAPI) -> AuditUnitOfWork:
    database: Database = app.state.database
    return AuditUnitOfWork(database.sessions)


def _search(client: TestClient, world: World, **params: Any) -> Any:
    response = client.get("/v1/admin/audit", params=params, headers=world.headers["operator"])
    assert response.status_code == 200, response.text
    return response.json()


def test_every_operator_write_route_is_declared_audited_and_has_a_success_example(
    served: Served,
) -> None:
    routes = operator_writes(served.app)
    assert len(routes) >= 18  # the route table was read, not an empty list
    missing = [f"{m} {p}" for m, p, route in routes if audit_spec(route) is None]
    assert missing == [], "decorate these routes with @audited(...) (api/http/audit.py)"
    assert sorted((m, p) for m, p, _ in routes) == sorted(SUCCEEDS), (
        "give each operator write route a request that succeeds in SUCCEEDS"
    )


@dataclass(frozen=True)
class Call:
    """One successful operator write of the sweep and the entries it added."""

    method: str
    template: str
    path: str
    new_entries: list[dict[str, Any]]


@pytest.fixture(scope="module")
def swept(served: Served) -> list[Call]:
    """Every operator write route called once, successfully, in ``SUCCEEDS`` order."""
    _, client, world = served
    results: Context = {}
    calls = []
    for (method, template), example in SUCCEEDS.items():
        head = _search(client, world, limit=1)["items"][0]["seq"]
        path, body = example(client, world, results)
        response = client.request(method, path, json=body, headers=world.headers["operator"])
        assert response.status_code in (200, 201, 204), (method, path, response.text)
        results[f"{method} {template}"] = response.json() if response.content else None
        new = [e for e in _search(client, world, limit=5)["items"] if e["seq"] > head]
        calls.append(Call(method, template, path, new))
    return calls


def test_each_operator_write_route_writes_one_entry_when_it_succeeds(
    served: Served, swept: list[Call]
) -> None:
    app, _, world = served
    specs = {(m, p): audit_spec(route) for m, p, route in operator_writes(app)}
    assert [(c.method, c.template) for c in swept] == list(SUCCEEDS)
    for call in swept:
        spec = specs[(call.method, call.template)]
        assert spec is not None and len(call.new_entries) == 1, call
        entry = call.new_entries[0]
        assert (entry["action"], entry["actor_id"]) == (spec.action, world.user_ids["operator"])
        assert (entry["request"]["method"], entry["request"]["path"]) == (call.method, call.path)
        if call.method == "DELETE":  # the subject was there before and is gone after
            assert spec.state is not None and entry["before"] is not None, call
            assert entry["after"] is None, call
            continue
        assert entry["after"] is not None, call
        if spec.state is not None and not spec.names_result:
            assert entry["before"] is not None, call
    report = verify_audit_chain(_log(app))
    assert report.ok, report.problems


def test_the_entries_show_who_changed_what_from_what_and_redact_secrets(
    served: Served, swept: list[Call]
) -> None:
    _, client, world = served
    renamed = _search(client, world, action="contest.update")["items"][0]
    created_contest = _search(client, world, action="contest.create")["items"][0]
    assert renamed["subject"] == created_contest["subject"]
    assert renamed["before"]["title"] == "Audited cup"
    assert renamed["after"]["title"] == "Renamed cup"
    created = _search(client, world, action="user.create")["items"][0]
    assert created["request"]["params"]["body"]["password"] == "[redacted]"
    assert PASSWORD not in str(created)
    assert created["after"] == {
        "id": created["after"]["id"],
        "roles": ["author"],
        "is_active": True,
    }
    roles = _search(client, world, subject=f"user:{world.user_ids['member_b']}")["items"][0]
    assert (roles["before"]["roles"], roles["after"]["roles"]) == (
        ["member"],
        sorted(["member", "author"]),
    )


def test_entries_hold_ids_and_states_not_secrets_or_personal_data(
    served: Served, swept: list[Call]
) -> None:
    """The newer operator writes: state changes read back by id, and neither the signing
    secret, the app's settings (database URL) nor the scan's evidence (addresses) is logged."""
    _, client, world = served

    def latest(action: str) -> Any:
        return _search(client, world, action=action)["items"][0]

    erased = latest("user.erase")
    assert (erased["before"]["is_active"], erased["after"]["is_active"]) == (True, False)
    hook = latest("webhook.create")
    assert hook["after"]["kinds"] == ["prize.paid"] and "secret" not in hook["after"]
    assert hook["request"]["params"]["body"]["secret"] == "[redacted]"
    assert "audit-sweep-webhook-secret" not in str(_search(client, world, limit=200))
    retried = latest("webhook_delivery.retry")
    assert (retried["before"]["status"], retried["after"]["status"]) == ("failed", "pending")
    scan = latest("integrity.scan")
    assert "settings" not in scan["request"]["params"] and "testclient" not in str(scan)
    opened = set(scan["after"]["open_case_ids"]) - set(scan["before"]["open_case_ids"])
    decided = latest("integrity.decide")
    assert decided["subject"] == f"integrity_case:{min(opened)}"
    assert (decided["before"]["status"], decided["after"]["status"]) == ("open", "distinct")
    assert "evidence" not in decided["after"]
    approved, rejected = latest("content.approve"), latest("content.reject")
    assert approved["after"]["review"]["status"] == "approved"
    assert rejected["after"]["review"]["status"] == "rejected"
    assert rejected["before"]["review"]["decided_by"] is None
    settled = latest("quiz.settle")
    assert settled["before"]["settled_at"] is None and settled["after"]["settled_at"]
    published = latest("quiz.publish")
    assert published["before"]["published_at"] is None and published["after"]["published_at"]
    document = latest("consent_document.publish")
    assert document["subject"] == "consent_document:privacy:1"
    assert document["after"]["version"] == 1 and "body" not in document["after"]


def test_a_refused_action_writes_nothing(served: Served) -> None:
    app, client, world = served
    head = verify_audit_chain(_log(app)).head_seq
    operator = world.headers["operator"]
    missing = client.patch("/v1/admin/contests/2147483647", json={"title": "x"}, headers=operator)
    assert missing.status_code == 404
    forbidden = client.post(
        "/v1/admin/rewards",
        json={"key": "hat", "name": "Hat", "cost_points": 1, "stock": 1},
        headers=world.headers["member"],
    )
    assert forbidden.status_code == 403
    taken = client.post(
        "/v1/admin/rewards",
        json={"key": "mug", "name": "Mug", "cost_points": 1, "stock": 1},
        headers=operator,
    )
    assert taken.status_code == 409
    assert verify_audit_chain(_log(app)).head_seq == head


def test_operators_search_by_actor_action_subject_and_time_in_pages(
    served: Served, swept: list[Call]
) -> None:
    _, client, world = served
    everything = _search(client, world, limit=200)["items"]
    assert len(everything) >= 18
    assert [e["seq"] for e in everything] == sorted((e["seq"] for e in everything), reverse=True)

    contests = _search(client, world, action="contest.")["items"]
    assert contests and all(e["action"].startswith("contest.") for e in contests)
    assert {e["action"] for e in contests} >= {"contest.create", "contest.update"}
    subject = f"contest:{world.contest_id}"
    assert all(e["subject"] == subject for e in _search(client, world, subject=subject)["items"])
    assert _search(client, world, actor=world.user_ids["member"])["items"] == []
    mine = _search(client, world, actor=world.user_ids["operator"], limit=200)["items"]
    assert [e["seq"] for e in mine] == [e["seq"] for e in everything]

    middle = datetime.fromisoformat(everything[len(everything) // 2]["at"])
    later = _search(client, world, since=middle.isoformat(), limit=200)["items"]
    earlier = _search(client, world, until=middle.isoformat(), limit=200)["items"]
    assert len(later) + len(earlier) == len(everything)
    assert all(datetime.fromisoformat(e["at"]) >= middle for e in later)

    pages, cursor = [], None
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = _search(client, world, **params)
        pages.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["seq"] for e in pages] == [e["seq"] for e in everything]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "query.until"),
        ({"since": "2026-01-02T00:00:00"}, "since"),  # no offset
        ({"action": "Contest.Update"}, "action"),
        ({"actor": "0"}, "actor"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
    ],
)
def test_bad_filters_are_problems_naming_the_field(
    served: Served, params: dict[str, str], field: str
) -> None:
    _, client, world = served
    response = client.get("/v1/admin/audit", params=params, headers=world.headers["operator"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert field in response.text


def test_members_cannot_read_the_log_and_operators_verify_it(
    served: Served, swept: list[Call]
) -> None:
    _, client, world = served
    assert client.get("/v1/admin/audit", headers=world.headers["member"]).status_code == 403
    report = client.get("/v1/admin/audit/verify", headers=world.headers["operator"]).json()
    assert report["ok"] is True and report["entries"] >= 18 and report["problems"] == []


def test_a_lost_entry_is_logged_and_the_action_still_answers(
    served: Served, swept: list[Call], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Recording after the commit can fail; the action took effect, so it answers 200 and the
    entry goes to the CRITICAL log instead of being silently dropped."""
    app, client, world = served
    head = verify_audit_chain(_log(app)).head_seq

    def fail(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("api.http.audit.record", fail)
    response = client.put(
        "/v1/admin/content/compliance-terms",
        json={"terms": ["sure win"]},
        headers=world.headers["operator"],
    )
    assert response.status_code == 200, response.text
    assert verify_audit_chain(_log(app)).head_seq == head
    lost = [r for r in caplog.records if r.name == "paperleague.audit"]
    assert [r.levelname for r in lost] == ["CRITICAL"]
    assert "content.set_compliance_terms" in lost[0].getMessage()
    assert "sure win" in lost[0].getMessage()
