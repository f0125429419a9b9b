"""Every route in the OpenAPI schema, called as each role and without a token, answers only the
roles that may use it; and one member or author cannot reach another's orders or content.

The table ``ALLOWED`` names, for each (method, path) of the schema, the identities that may use
it. The routes are enumerated from ``app.openapi()``, so a new route without an entry fails here
until someone decides who may call it. "Answers" means: an allowed identity gets neither 401
nor 403 (a 404 or 422 for a dummy id or an empty body is fine); any other identity gets 401
(no token, or a bad one) or 403 (signed in without the role), as problem+json.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from core.users import services
from core.users.model import Role
from core.users.services import UsersUnitOfWork
from tests.api_world import Served, World, shared_world_fixture  # noqa: F401
from tests.conftest import PASSWORD

Headers = dict[str, str]
PROBLEM = "application/problem+json"

ANON = "anonymous"
IDENTITIES = (ANON, "member", "operator", "author")
PUBLIC = frozenset(IDENTITIES)
SIGNED_IN = frozenset({"member", "operator", "author"})
OPERATOR = frozenset({"operator"})
AUTHOR = frozenset({"author"})

ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    # probes and sign-in
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("POST", "/v1/auth/signup"): PUBLIC,
    ("POST", "/v1/auth/token"): PUBLIC,
    ("POST", "/v1/auth/logout-all"): SIGNED_IN,
    ("GET", "/v1/me"): SIGNED_IN,
    ("PATCH", "/v1/me"): SIGNED_IN,
    ("PUT", "/v1/me/password"): SIGNED_IN,
    # market data and certificate checks are public
    ("GET", "/v1/market/instruments"): PUBLIC,
    ("GET", "/v1/market/{symbol}/bars"): PUBLIC,
    ("GET", "/v1/market/{symbol}/quote"): PUBLIC,
    ("GET", "/v1/market/{symbol}/minutes"): PUBLIC,
    ("POST", "/v1/certificates/verify"): PUBLIC,
    ("POST", "/v1/contests/certificates/verify"): PUBLIC,
    # points, tasks, rewards
    ("GET", "/v1/me/points"): SIGNED_IN,
    ("GET", "/v1/me/points/history"): SIGNED_IN,
    ("POST", "/v1/me/check-ins"): SIGNED_IN,
    ("GET", "/v1/me/tasks"): SIGNED_IN,
    ("POST", "/v1/me/tasks/{task_key}/completions"): SIGNED_IN,
    ("GET", "/v1/rewards"): SIGNED_IN,
    ("POST", "/v1/rewards/{item_id}/redemptions"): SIGNED_IN,
    ("GET", "/v1/me/redemptions"): SIGNED_IN,
    # the live event stream (ends after event_stream_max_seconds, short in tests)
    ("GET", "/v1/me/events"): SIGNED_IN,
    ("POST", "/v1/me/events/token"): SIGNED_IN,
    # content: authors register; certificates are the caller's own (operators see all)
    ("POST", "/v1/content"): AUTHOR,
    ("GET", "/v1/me/content"): AUTHOR,
    ("GET", "/v1/certificates/{content_id}"): SIGNED_IN,
    ("GET", "/v1/content/{content_id}"): SIGNED_IN,
    # seasons, contests, trading, teams, leaderboards, follows, prizes
    ("GET", "/v1/seasons"): SIGNED_IN,
    ("GET", "/v1/seasons/{season_id}"): SIGNED_IN,
    ("GET", "/v1/contests"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/official-rules"): SIGNED_IN,
    ("POST", "/v1/contests/{contest_id}/entries"): SIGNED_IN,
    ("GET", "/v1/me/contests"): SIGNED_IN,
    ("POST", "/v1/contests/{contest_id}/orders"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/orders"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/fills"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/orders/{order_id}"): SIGNED_IN,
    ("DELETE", "/v1/contests/{contest_id}/orders/{order_id}"): SIGNED_IN,
    ("PUT", "/v1/contests/{contest_id}/orders/{order_id}/note"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/account"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/positions"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/portfolio/history"): SIGNED_IN,
    ("POST", "/v1/contests/{contest_id}/teams"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/teams"): SIGNED_IN,
    ("GET", "/v1/teams/{team_id}"): SIGNED_IN,
    ("POST", "/v1/teams/{team_id}/members"): SIGNED_IN,
    ("DELETE", "/v1/teams/{team_id}/members/me"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/pk"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/leaderboard"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/leaderboard/history"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/teams/leaderboard"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/prizes"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/rules"): SIGNED_IN,
    ("GET", "/v1/contests/{contest_id}/results/certificate"): SIGNED_IN,
    ("POST", "/v1/me/follows/{member_id}"): SIGNED_IN,
    ("DELETE", "/v1/me/follows/{member_id}"): SIGNED_IN,
    ("GET", "/v1/me/follows"): SIGNED_IN,
    # member data rights: documents are public, consents / export / erasure request are yours
    ("GET", "/v1/consent-documents"): PUBLIC,
    ("GET", "/v1/me/consents"): SIGNED_IN,
    ("POST", "/v1/me/consents"): SIGNED_IN,
    ("POST", "/v1/me/consents/{kind}/withdrawal"): SIGNED_IN,
    ("GET", "/v1/me/data-export"): SIGNED_IN,
    ("POST", "/v1/me/erasure-request"): SIGNED_IN,
    # operators only
    ("GET", "/v1/admin/users"): OPERATOR,
    ("GET", "/v1/admin/analytics/overview"): OPERATOR,
    ("GET", "/v1/admin/analytics/retention"): OPERATOR,
    ("GET", "/v1/admin/analytics/funnel"): OPERATOR,
    ("GET", "/v1/admin/analytics/liability"): OPERATOR,
    ("GET", "/v1/admin/analytics/reward-cost"): OPERATOR,
    ("GET", "/v1/admin/webhooks"): OPERATOR,
    ("POST", "/v1/admin/webhooks"): OPERATOR,
    ("GET", "/v1/admin/webhooks/{endpoint_id}"): OPERATOR,
    ("PATCH", "/v1/admin/webhooks/{endpoint_id}"): OPERATOR,
    ("DELETE", "/v1/admin/webhooks/{endpoint_id}"): OPERATOR,
    ("GET", "/v1/admin/webhooks/deliveries"): OPERATOR,
    ("GET", "/v1/admin/webhooks/deliveries/{delivery_id}/attempts"): OPERATOR,
    ("POST", "/v1/admin/webhooks/deliveries/{delivery_id}/retry"): OPERATOR,
    ("POST", "/v1/admin/users"): OPERATOR,
    ("PUT", "/v1/admin/users/{user_id}/roles"): OPERATOR,
    ("GET", "/v1/admin/ledger/trial-balance"): OPERATOR,
    ("GET", "/v1/admin/ledger/verify"): OPERATOR,
    ("GET", "/v1/admin/checks"): OPERATOR,
    # one person, one entry: the review queue
    ("POST", "/v1/admin/integrity/scan"): OPERATOR,
    ("GET", "/v1/admin/integrity/cases"): OPERATOR,
    ("GET", "/v1/admin/integrity/cases/{case_id}"): OPERATOR,
    ("POST", "/v1/admin/integrity/cases/{case_id}/decision"): OPERATOR,
    ("GET", "/v1/admin/integrity/persons/{user_id}"): OPERATOR,
    ("GET", "/v1/admin/integrity/users/{user_id}/signals"): OPERATOR,
    ("GET", "/v1/admin/audit"): OPERATOR,
    ("GET", "/v1/admin/audit/verify"): OPERATOR,
    ("POST", "/v1/admin/points/grants"): OPERATOR,
    ("POST", "/v1/admin/transfers/{transfer_id}/reversal"): OPERATOR,
    ("GET", "/v1/admin/levels"): OPERATOR,
    ("PUT", "/v1/admin/levels"): OPERATOR,
    ("GET", "/v1/admin/earning-rules"): OPERATOR,
    ("PUT", "/v1/admin/earning-rules"): OPERATOR,
    ("POST", "/v1/admin/rewards"): OPERATOR,
    ("POST", "/v1/admin/redemptions/{redemption_id}/fulfil"): OPERATOR,
    ("POST", "/v1/admin/redemptions/{redemption_id}/cancel"): OPERATOR,
    ("POST", "/v1/admin/anchors"): OPERATOR,
    ("GET", "/v1/admin/anchors"): OPERATOR,
    ("GET", "/v1/admin/content/compliance-terms"): OPERATOR,
    ("PUT", "/v1/admin/content/compliance-terms"): OPERATOR,
    ("GET", "/v1/admin/content/policy"): OPERATOR,
    ("PUT", "/v1/admin/content/policy"): OPERATOR,
    ("GET", "/v1/admin/content/reviews"): OPERATOR,
    ("GET", "/v1/admin/content/reviews/{content_id}"): OPERATOR,
    ("POST", "/v1/admin/content/reviews/{content_id}/approve"): OPERATOR,
    ("POST", "/v1/admin/content/reviews/{content_id}/reject"): OPERATOR,
    ("POST", "/v1/admin/seasons"): OPERATOR,
    ("PATCH", "/v1/admin/seasons/{season_id}"): OPERATOR,
    ("POST", "/v1/admin/contests"): OPERATOR,
    ("PATCH", "/v1/admin/contests/{contest_id}"): OPERATOR,
    ("GET", "/v1/admin/contests/{contest_id}"): OPERATOR,
    ("POST", "/v1/admin/contests/{contest_id}/clock"): OPERATOR,
    ("POST", "/v1/admin/contests/{contest_id}/settlement"): OPERATOR,
    ("POST", "/v1/admin/consent-documents"): OPERATOR,
    ("GET", "/v1/admin/erasure-requests"): OPERATOR,
    ("GET", "/v1/admin/users/{user_id}/data-export"): OPERATOR,
    ("POST", "/v1/admin/users/{user_id}/erase"): OPERATOR,
    # quizzes: members take them, operators keep the bank and schedule them
    ("GET", "/v1/quizzes"): SIGNED_IN,
    ("GET", "/v1/quizzes/{quiz_id}"): SIGNED_IN,
    ("POST", "/v1/quizzes/{quiz_id}/attempt"): SIGNED_IN,
    ("GET", "/v1/quizzes/{quiz_id}/attempt"): SIGNED_IN,
    ("GET", "/v1/quizzes/{quiz_id}/attempt/question"): SIGNED_IN,
    ("POST", "/v1/quizzes/{quiz_id}/attempt/answers"): SIGNED_IN,
    ("GET", "/v1/quizzes/{quiz_id}/leaderboard"): SIGNED_IN,
    ("POST", "/v1/admin/quiz/questions"): OPERATOR,
    ("GET", "/v1/admin/quiz/questions"): OPERATOR,
    ("GET", "/v1/admin/quiz/questions/{question_id}"): OPERATOR,
    ("PUT", "/v1/admin/quiz/questions/{question_id}"): OPERATOR,
    ("DELETE", "/v1/admin/quiz/questions/{question_id}"): OPERATOR,
    ("POST", "/v1/admin/quiz/quizzes"): OPERATOR,
    ("GET", "/v1/admin/quiz/quizzes/{quiz_id}"): OPERATOR,
    ("PUT", "/v1/admin/quiz/quizzes/{quiz_id}"): OPERATOR,
    ("POST", "/v1/admin/quiz/quizzes/{quiz_id}/publish"): OPERATOR,
    ("POST", "/v1/admin/quiz/quizzes/{quiz_id}/settlement"): OPERATOR,
    # segments: members answer the questionnaire, operators define segments and refresh tags
    ("GET", "/v1/me/onboarding"): SIGNED_IN,
    ("PUT", "/v1/me/onboarding"): SIGNED_IN,
    ("GET", "/v1/admin/segments"): OPERATOR,
    ("POST", "/v1/admin/segments"): OPERATOR,
    ("POST", "/v1/admin/segments/preview"): OPERATOR,
    ("GET", "/v1/admin/segments/{key}"): OPERATOR,
    ("GET", "/v1/admin/segment-tags"): OPERATOR,
    ("POST", "/v1/admin/segment-tags/refresh"): OPERATOR,
    # campaigns and experiments: operators only (members see only the effects)
    ("POST", "/v1/admin/campaigns"): OPERATOR,
    ("GET", "/v1/admin/campaigns"): OPERATOR,
    ("POST", "/v1/admin/campaigns/{key}/grants"): OPERATOR,
    ("POST", "/v1/admin/experiments"): OPERATOR,
    ("GET", "/v1/admin/experiments"): OPERATOR,
    ("GET", "/v1/admin/experiments/{key}/results"): OPERATOR,
    # weekly leagues: members see their own cohort; operators keep the rules and the weeks
    ("GET", "/v1/leagues/me"): SIGNED_IN,
    ("GET", "/v1/leagues/me/history"): SIGNED_IN,
    ("GET", "/v1/leagues/me/profile"): SIGNED_IN,
    ("PUT", "/v1/leagues/me/profile"): SIGNED_IN,
    ("GET", "/v1/admin/leagues/settings"): OPERATOR,
    ("PUT", "/v1/admin/leagues/settings"): OPERATOR,
    ("GET", "/v1/admin/leagues/weeks"): OPERATOR,
    ("POST", "/v1/admin/leagues/weeks"): OPERATOR,
    ("GET", "/v1/admin/leagues/weeks/{week_id}"): OPERATOR,
    ("POST", "/v1/admin/leagues/weeks/{week_id}/close"): OPERATOR,
}

# Path parameters that name nothing: an allowed caller gets 404 (or 422), and nothing changes.
DUMMY = {
    "contest_id": "2147483647",
    "season_id": "2147483647",
    "order_id": "2147483647",
    "team_id": "2147483647",
    "item_id": "2147483647",
    "content_id": "2147483647",
    "user_id": "2147483647",
    "member_id": "2147483647",
    "endpoint_id": "2147483647",
    "delivery_id": "2147483647",
    "symbol": "NOPE",
    "task_key": "no-such-task",
    "redemption_id": "redemption:0:none",
    "transfer_id": "no-such-transfer",
    "case_id": "2147483647",
    "kind": "questionnaire",
    "quiz_id": "2147483647",
    "question_id": "2147483647",
    "key": "no_such_key",
    "week_id": "2147483647",
}
PARAM = re.compile(r"\{(\w+)\}")
# Routes that revoke the caller's tokens: the sweeps would sign the world's users out, so they
# call these with throwaway users (``test_revoking_routes_answer_their_roles``).
REVOKES_TOKENS = frozenset({("POST", "/v1/auth/logout-all")})


def operations(app: FastAPI) -> Iterator[tuple[str, str]]:
    for path, methods in app.openapi()["paths"].items():
        for method in methods:
            yield method.upper(), path


def fill(path: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m.group(1)], path)


@pytest.fixture
def app(shared_world: Served) -> FastAPI:
    return shared_world.app


@pytest.fixture
def client(shared_world: Served) -> TestClient:
    return shared_world.client


@pytest.fixture
def world(shared_world: Served) -> World:
    """One world per backend for the module: the sweeps use dummy ids and change nothing the
    other checks read."""
    return shared_world.world


def _headers(world: World, identity: str) -> Headers:
    return {} if identity == ANON else world.headers[identity]


def _call(client: TestClient, method: str, url: str, headers: Headers) -> Any:
    body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, url, headers=headers, json=body)


def _verdict(response: Any) -> str:
    return f"{response.status_code} {response.headers.get('content-type')} {response.text[:300]}"


def test_every_route_has_an_expectation(app: FastAPI) -> None:
    listed = set(operations(app))
    assert sorted(listed - ALLOWED.keys()) == [], "new routes: add them to ALLOWED"
    assert sorted(ALLOWED.keys() - listed) == [], "stale entries in ALLOWED"
    for (_, path), allowed in ALLOWED.items():
        if path.startswith("/v1/admin"):
            assert allowed == OPERATOR, path
    # A route hidden from the schema would be hidden from this sweep too; only the web UI is.
    hidden = [r.path for r in app.routes if isinstance(r, APIRoute) and not r.include_in_schema]
    assert hidden == ["/"]


def test_each_route_answers_only_its_roles(client: TestClient, world: World) -> None:
    failures = []
    for (method, path), allowed in sorted(ALLOWED.items()):
        url = fill(path, DUMMY)
        for identity in IDENTITIES:
            if (method, path) in REVOKES_TOKENS and identity != ANON:
                continue
            response = _call(client, method, url, _headers(world, identity))
            status = response.status_code
            if identity in allowed:
                ok = status not in (401, 403) and status < 500
            elif identity == ANON:
                ok = status == 401 and response.headers.get("www-authenticate") == "Bearer"
            else:
                ok = status == 403 and response.json().get("type") == "/problems/forbidden"
            if status >= 400 and response.headers.get("content-type") != PROBLEM:
                ok = False
            if not ok:
                failures.append(f"{identity:9} {method} {url}: {_verdict(response)}")
    assert failures == []


def test_real_ids_answer_their_roles_too(client: TestClient, world: World) -> None:
    """The reads again, with ids that exist: an allowed caller is never refused for its role."""
    real = DUMMY | {
        "contest_id": str(world.contest_id),
        "season_id": str(world.season_id),
        "order_id": str(world.order_id),
        "team_id": str(world.team_id),
        "content_id": str(world.content_id),
        "symbol": world.symbol,
    }
    failures = []
    for (method, path), allowed in sorted(ALLOWED.items()):
        if method != "GET":
            continue
        url = fill(path, real)
        for identity in IDENTITIES:
            status = _call(client, method, url, _headers(world, identity)).status_code
            refused = status in (401, 403)
            if refused == (identity in allowed) or status >= 500:
                failures.append(f"{identity:9} {method} {url}: {status}")
    assert failures == []


BAD_TOKENS = {
    "garbage": {"Authorization": "Bearer not-a-token"},
    "wrong scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty bearer": {"Authorization": "Bearer "},
}


def test_bad_tokens_are_refused_like_no_token(client: TestClient, world: World) -> None:
    failures = []
    for (method, path), allowed in sorted(ALLOWED.items()):
        if ANON in allowed:
            continue
        url = fill(path, DUMMY)
        for name, headers in BAD_TOKENS.items():
            response = _call(client, method, url, headers)
            if response.status_code != 401 or response.headers["content-type"] != PROBLEM:
                failures.append(f"{name}: {method} {url}: {_verdict(response)}")
    assert failures == []


def _same_problem(a: Any, b: Any) -> bool:
    """Equal answers but for the id named in ``detail`` and ``instance``."""

    def shape(response: Any) -> tuple[Any, ...]:
        body = response.json()
        kind = {key: body.get(key) for key in ("type", "title", "status")}
        return response.status_code, response.headers["content-type"], sorted(body), kind

    return shape(a) == shape(b)


def test_a_member_cannot_read_or_cancel_another_members_order(
    client: TestClient, world: World
) -> None:
    other = world.headers["member_b"]
    url = f"/v1/contests/{world.contest_id}/orders"
    theirs = f"{url}/{world.order_id}"
    nobody = f"{url}/{DUMMY['order_id']}"
    for method in ("GET", "DELETE"):
        response = client.request(method, theirs, headers=other)
        assert response.status_code == 404, response.text
        # Indistinguishable from an order that does not exist: nothing about it leaks.
        assert _same_problem(response, client.request(method, nobody, headers=other))
        assert world.symbol not in response.text
    assert client.get(url, headers=other).json()["items"] == []
    still = client.get(theirs, headers=world.headers["member"]).json()
    assert still["status"] == "new"  # the other member's cancel did nothing


def test_an_author_cannot_reach_another_authors_content(client: TestClient, world: World) -> None:
    # A piece still pending, besides the anchored one the world holds.
    pending = client.post(
        "/v1/content",
        json={"title": "Draft", "text": "Margins widen."},
        headers=world.headers["author"],
    )
    assert pending.status_code == 201, pending.text
    for identity in ("author_b", "member"):
        headers = world.headers[identity]
        for content_id in (world.content_id, pending.json()["id"]):
            for route in ("certificates", "content"):
                response = client.get(f"/v1/{route}/{content_id}", headers=headers)
                # 404 even for the pending piece: a 409 "still pending" would confirm it exists.
                assert response.status_code == 404, (identity, response.text)
                nobody = client.get(f"/v1/{route}/{DUMMY['content_id']}", headers=headers)
                assert _same_problem(response, nobody)
    assert client.get("/v1/me/content", headers=world.headers["author_b"]).json()["items"] == []
    assert (
        client.get(
            f"/v1/certificates/{world.content_id}", headers=world.headers["author"]
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/v1/certificates/{world.content_id}", headers=world.headers["operator"]
        ).status_code
        == 200
    )


def test_members_see_only_their_own_points_redemptions_and_team_secrets(
    client: TestClient, world: World
) -> None:
    mine, other = world.headers["member"], world.headers["member_b"]
    assert client.get("/v1/me/redemptions", headers=other).json()["items"] == []
    assert [r["id"] for r in client.get("/v1/me/redemptions", headers=mine).json()["items"]] == [
        world.redemption_id
    ]
    history = client.get("/v1/me/points/history", headers=other).text
    assert world.transfer_id not in history
    assert world.transfer_id in client.get("/v1/me/points/history", headers=mine).text

    team = f"/v1/teams/{world.team_id}"
    assert client.get(team, headers=mine).json()["invite_code"] == world.team_invite_code
    assert client.get(team, headers=other).json()["invite_code"] is None
    listed = client.get(f"/v1/contests/{world.contest_id}/teams", headers=other).json()["items"]
    assert [t["invite_code"] for t in listed] == [None]
    assert world.team_invite_code not in client.get(team, headers=other).text


def test_a_private_contests_invite_code_is_for_operators_only(
    client: TestClient, world: World
) -> None:
    operator = world.headers["operator"]
    created = client.post(
        "/v1/admin/contests",
        headers=operator,
        json={
            "season_id": world.season_id,
            "title": "Invite only",
            "trading_start": "2024-01-01",
            "trading_end": "2024-01-19",
            "starting_cash": "1000.00",
            "private": True,
            "invite_code": "secret-door",
        },
    )
    assert created.status_code == 201, created.text
    contest_id = created.json()["id"]
    url = f"/v1/contests/{contest_id}"
    admin_view = client.get(f"/v1/admin/contests/{contest_id}", headers=operator).json()
    assert admin_view["invite_code"] == "secret-door"
    for identity in ("member", "author"):
        headers = world.headers[identity]
        assert "secret-door" not in client.get(url, headers=headers).text
        listed = client.get("/v1/contests", headers=headers, params={"limit": 100}).text
        assert "secret-door" not in listed
        refused = client.post(f"{url}/entries", json={}, headers=headers)
        assert refused.status_code == 404, refused.text  # as if there were no such contest
    joined = client.post(
        f"{url}/entries", json={"invite_code": "secret-door"}, headers=world.headers["member"]
    )
    assert joined.status_code == 201, joined.text


def test_revoking_routes_answer_their_roles(app: FastAPI, client: TestClient) -> None:
    """The routes the sweeps skip, each called by a throwaway user of every role."""
    users = UsersUnitOfWork(app.state.database.sessions)
    failures = []
    for method, path in sorted(REVOKES_TOKENS):
        allowed = ALLOWED[method, path]
        for identity in sorted(SIGNED_IN):
            user = services.create_user(
                users,
                username=f"revoker-{identity}-{secrets.token_hex(4)}",
                password=PASSWORD,
                roles=[Role(identity)],
            )
            signed_in = client.post(
                "/v1/auth/token", data={"username": user.username, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            status = _call(client, method, fill(path, DUMMY), headers).status_code
            if (status in (401, 403)) == (identity in allowed) or status >= 500:
                failures.append(f"{identity:9} {method} {path}: {status}")
            if client.get("/v1/me", headers=headers).status_code != 401:
                failures.append(f"{identity:9} {method} {path}: the token still works")
    assert failures == []


def test_a_private_contest_is_invisible_to_whoever_may_not_see_it(
    client: TestClient, world: World
) -> None:
    """Every route naming a contest (the schema's, so a new one is covered at once) answers a
    non-entrant without the code exactly as for a contest that does not exist."""
    operator, member = world.headers["operator"], world.headers["member"]
    created = client.post(
        "/v1/admin/contests",
        headers=operator,
        json={
            "season_id": world.season_id,
            "title": "Back room cup",
            "trading_start": "2024-01-01",
            "trading_end": "2024-01-19",
            "starting_cash": "1000.00",
            "private": True,
            "invite_code": "back-room",
            "teams": {"max_size": 3, "score": "mean"},
        },
    )
    assert created.status_code == 201, created.text
    contest_id = created.json()["id"]
    url = f"/v1/contests/{contest_id}"
    assert client.post(f"{url}/entries", json={"invite_code": "back-room"}, headers=member)
    team = client.post(f"{url}/teams", json={"name": "Insiders"}, headers=member).json()

    routes = sorted(
        (method, path)
        for method, path in ALLOWED
        if "{contest_id}" in path and not path.startswith("/v1/admin")
    )
    assert len(routes) >= 16
    secret = {"contest_id": str(contest_id), "team_id": str(team["id"])}
    failures = []
    for method, path in routes:
        for identity in ("member_b", "author"):
            headers = world.headers[identity]
            response = _call(client, method, fill(path, DUMMY | secret), headers)
            nobody = _call(client, method, fill(path, DUMMY), headers)
            if response.status_code != 404 or not _same_problem(response, nobody):
                failures.append(f"{identity:9} {method} {path}: {_verdict(response)}")
            elif "Back room" in response.text:
                failures.append(f"{identity:9} {method} {path}: names the contest")
        if method == "GET":
            for identity in ("member", "operator"):
                headers = world.headers[identity]
                response = _call(client, method, fill(path, DUMMY | secret), headers)
                if f"no contest {contest_id}" in response.text:
                    failures.append(f"{identity:9} {method} {path}: {_verdict(response)}")
    assert failures == []

    outsider = world.headers["member_b"]
    listed = client.get("/v1/contests", headers=outsider, params={"limit": 200}).json()["items"]
    assert contest_id not in [c["id"] for c in listed]
    for headers in (member, operator):
        listed = client.get("/v1/contests", headers=headers, params={"limit": 200}).json()
        assert contest_id in [c["id"] for c in listed["items"]]

    team_url = f"/v1/teams/{team['id']}"
    nobody_team = f"/v1/teams/{DUMMY['team_id']}"
    nobody = client.get(nobody_team, headers=outsider)
    assert _same_problem(client.get(team_url, headers=outsider), nobody)
    assert client.get(team_url, headers=outsider).status_code == 404
    joined_team = client.post(
        f"{team_url}/members", json={"invite_code": team["invite_code"]}, headers=outsider
    )
    assert joined_team.status_code == 404, joined_team.text
    assert client.get(team_url, headers=member).status_code == 200

    bars = f"/v1/market/{world.symbol}/bars"
    for headers in ({}, outsider):
        hidden = client.get(bars, params={"contest_id": contest_id}, headers=headers)
        assert hidden.status_code == 404, hidden.text
        assert _same_problem(hidden, client.get(bars, params={"contest_id": DUMMY["contest_id"]}))
    for headers in (member, operator):
        shown = client.get(bars, params={"contest_id": contest_id}, headers=headers)
        assert shown.status_code == 200, shown.text

    # The join page: the code shows the contest's summary, and the code joins it.
    wrong = client.get(url, params={"code": "front-door"}, headers=outsider)
    assert wrong.status_code == 404
    summary = client.get(url, params={"code": "back-room"}, headers=outsider)
    assert summary.status_code == 200 and summary.json()["title"] == "Back room cup"
    assert summary.json()["invite_code"] is None
    refused = client.post(f"{url}/entries", json={"invite_code": "front"}, headers=outsider)
    nowhere = f"/v1/contests/{DUMMY['contest_id']}/entries"
    assert refused.status_code == 404
    assert _same_problem(refused, client.post(nowhere, json={}, headers=outsider))
    joined = client.post(f"{url}/entries", json={"invite_code": "back-room"}, headers=outsider)
    assert joined.status_code == 201, joined.text
    assert client.get(f"{url}/leaderboard", headers=outsider).status_code == 200
