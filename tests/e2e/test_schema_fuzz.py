"""Schemathesis against the app's own OpenAPI schema, as each role and without a token.

Every operation gets a few generated requests (valid and invalid ones, derandomized, no
shrinking), each sent with no token and as a member, an operator and an author, over a seeded
world so path parameters often name real seasons, contests, orders, teams, items, users,
redemptions, transfers and content. Both backends: the fuzz is about the HTTP layer, but the
500s it finds come from below it (a NULL a column refuses), and a run costs seconds. Each
response must be no server error, conform to the schema (status code, content
type, headers, body), reject invalid input, and, for every 4xx, be problem+json with the
project's fields (``type``, ``title``, ``status``; ``field``, ``rule`` and ``errors`` on 422).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.http.schemas.contests import ContestPatch, SeasonPatch
from tests.api_world import Served, World, build_world, shared_world_fixture  # noqa: F401

PROBLEM = "application/problem+json"
# Per operation; each example is sent four times (no token and three roles). Raise it to fuzz
# deeper locally: PAPERLEAGUE_FUZZ_EXAMPLES=200 pytest tests/e2e/test_schema_fuzz.py
MAX_EXAMPLES = int(os.environ.get("PAPERLEAGUE_FUZZ_EXAMPLES", "5"))
ROLES = ("member", "operator", "author")
REVOKES_TOKENS = frozenset({("POST", "/v1/auth/logout-all")})
MAX_ID = 2_147_483_647

# The operations are walked here rather than by ``schemathesis.pytest.from_fixture``, whose
# lazy schema sets ``item._nodeid`` (gone in pytest 9): one subtest per operation instead.
# An explicit, empty config, so a stray schemathesis.toml cannot change what runs.
CONFIG = schemathesis.Config()


def problem_details(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx is problem+json naming its kind; a 422 also names the field and the rule."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM, f"{response.status_code} answered as {content_type!r}"
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("status") == response.status_code, body
    assert isinstance(body.get("type"), str) and body["type"].startswith("/problems/"), body
    assert isinstance(body.get("title"), str) and body["title"], body
    if response.status_code == 422:
        assert isinstance(body.get("field"), str) and isinstance(body.get("rule"), str), body
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, body
        assert all({"field", "rule", "message"} <= set(error) for error in errors), body
    if response.status_code == 401:
        assert response.headers.get("www-authenticate") == ["Bearer"], response.headers


def negative_data_refused(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case
) -> Any:
    """schemathesis's ``negative_data_rejection``, with 413 counted as a refusal too: a body
    over the size limit (input_guard) is refused before anything reads it, so its other
    schema violations are never looked at (schemathesis 4.32 generates 6 MB texts)."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_refused,
    problem_details,
]


class WithoutLifespan:
    """The app as schemathesis's ASGI client calls it: the test client already ran the
    lifespan (migrations, the anchoring loop), so a second one must not start."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def real_ids(world: World) -> dict[str, Any]:
    return {
        "contest_id": world.contest_id,
        "season_id": world.season_id,
        "order_id": world.order_id,
        "team_id": world.team_id,
        "item_id": world.item_id,
        "content_id": world.content_id,
        "user_id": world.user_ids["member_b"],
        "member_id": world.user_ids["member_b"],
        "symbol": world.symbol,
        "redemption_id": world.redemption_id,
        "transfer_id": world.transfer_id,
    }


def _valid(name: str, value: Any) -> bool:
    """A value the schema accepts for the parameter, so swapping in a real one keeps a
    positive case positive and leaves negative ones (a string for an id, 0, 2**31) alone."""
    if name.endswith("_id") and name not in {"redemption_id", "transfer_id"}:
        return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
    return isinstance(value, str) and 1 <= len(value) <= 32 and value.isprintable()


@pytest.fixture
def world(app: FastAPI, client: TestClient) -> World:
    return build_world(app, client)


@pytest.fixture
def api_schema(app: FastAPI, world: World) -> Iterator[schemathesis.BaseSchema]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", WithoutLifespan(app), config=CONFIG)
    known = real_ids(world)

    @schema.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        if not path_parameters:
            return st.just(path_parameters)
        swappable = {k: known[k] for k, v in path_parameters.items() if k in known and _valid(k, v)}
        if len(swappable) != len(path_parameters):
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, path_parameters | swappable])

    yield schema
    asgi.shutdown_lifespans()


def fuzz(operation: schemathesis.APIOperation, world: World) -> None:
    """Send ``MAX_EXAMPLES`` generated requests (valid and invalid) with every identity."""
    cases = st.one_of(
        [
            operation.as_strategy(generation_mode=mode)
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
        ]
    )

    @hypothesis.given(case=cases)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same requests on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its curl
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[*CHECKS, ignored_auth])
        for role in ROLES:
            case.call_and_validate(headers=world.headers[role], checks=CHECKS)

    run()


def _streams(operation: schemathesis.APIOperation) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in r.get("content", {}) for r in responses.values())


def test_fuzz_every_operation_as_every_role(
    api_schema: schemathesis.BaseSchema, world: World, subtests: pytest.Subtests
) -> None:
    operations = [operation for methods in api_schema.values() for operation in methods.values()]
    assert len(operations) == len([m for p in api_schema.raw_schema["paths"].values() for m in p])
    # A text/event-stream operation (the live event stream) answers for as long as its client
    # stays: it is left out here and tested by tests/e2e/test_member_events_api.py.
    operations = [op for op in operations if not _streams(op)]
    # Signing out everywhere revokes the roles' tokens: it goes last, after every other fuzz.
    operations.sort(key=lambda op: (op.method.upper(), op.path) in REVOKES_TOKENS)
    for operation in operations:
        with subtests.test(operation.label):
            fuzz(operation, world)


# --- what the fuzzing found: each was a 500, a 4xx without its problem fields, or a request
# --- the schema forbids that the API accepted. Pinned here in case generation changes.


def test_a_null_in_a_patch_is_a_422_naming_the_field(shared_world: Served) -> None:
    client, world = shared_world.client, shared_world.world
    operator = world.headers["operator"]
    targets = {
        f"/v1/admin/seasons/{world.season_id}": SeasonPatch.NOT_NULL,
        f"/v1/admin/contests/{world.contest_id}": ContestPatch.NOT_NULL,
    }
    for url, fields in targets.items():
        for field in fields:
            response = client.patch(url, json={field: None}, headers=operator)
            assert response.status_code == 422, (url, field, response.text)
            assert (response.json()["field"], response.json()["rule"]) == (field, "not_null")
    # Nullable fields still clear (the world's contest has started, so its rules are locked:
    # only the secret invite code, which the rules leave out, is still editable).
    cleared = client.patch(
        f"/v1/admin/contests/{world.contest_id}", json={"invite_code": None}, headers=operator
    )
    assert cleared.status_code == 200, cleared.text
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["SeasonPatch"]["properties"]["ends_on"]["type"] == "string"


def test_an_unparseable_body_is_a_400_problem_naming_the_body(shared_world: Served) -> None:
    client, world = shared_world.client, shared_world.world
    not_utf8 = client.post(
        "/v1/admin/seasons",
        content=b'{"name": "\xff\xfe"}',
        headers=world.headers["operator"] | {"Content-Type": "application/json"},
    )
    crowded = client.post(
        "/v1/content",
        data={f"extra{i}": "x" for i in range(6)},
        files={"file": ("note.txt", b"Capex is up.", "text/plain")},
        headers=world.headers["author"],
    )
    for response in (not_utf8, crowded):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
        assert (response.json()["field"], response.json()["rule"]) == ("body", "malformed")


def test_a_bad_idempotency_key_is_a_422_listing_its_error(shared_world: Served) -> None:
    client, world = shared_world.client, shared_world.world
    response = client.post(
        "/v1/me/check-ins", headers=world.headers["member"] | {"Idempotency-Key": "has space"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "header.idempotency-key",
            "rule": "key_format",
            "message": response.json()["detail"],
        }
    ]


LAX_INPUTS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "PUT",
        "/v1/admin/levels",
        {"levels": [{"number": 1, "name": "L", "min_xp": False}]},
        "min_xp",
    ),
    ("PUT", "/v1/admin/earning-rules", {"checkin": {"points": True}}, "checkin.points"),
    ("PUT", "/v1/admin/earning-rules", {"repeat_streak_bonuses": 0}, "repeat_streak_bonuses"),
    ("PUT", "/v1/admin/earning-rules", {"version": False}, "version"),
    (
        "POST",
        "/v1/admin/rewards",
        {"key": "k", "name": "K", "cost_points": "5", "stock": 1},
        "cost_points",
    ),
    (
        "POST",
        "/v1/admin/rewards",
        {"key": "k", "name": "K", "cost_points": 5, "stock": 1, "valid_from": 0},
        "valid_from",
    ),
    ("PATCH", "/v1/admin/seasons/{season_id}", {"ends_on": 0}, "ends_on"),
    (
        "PATCH",
        "/v1/admin/contests/{contest_id}",
        {"registration_closes_at": "86400"},
        "registration_closes_at",
    ),
    ("GET", "/v1/market/{symbol}/bars?start=0", {}, "query.start"),
]


def test_numbers_flags_and_times_parse_as_the_schema_says(shared_world: Served) -> None:
    """``true`` is not 1 XP, ``"5"`` not 5 points, ``0`` not a date (pydantic would take it for
    Unix seconds)."""
    client, world = shared_world.client, shared_world.world
    ids = {"season_id": world.season_id, "contest_id": world.contest_id, "symbol": world.symbol}
    for method, url, body, field in LAX_INPUTS:
        response = client.request(
            method,
            url.format(**ids),
            json=body if method != "GET" else None,
            headers=world.headers["operator"],
        )
        assert response.status_code == 422, (url, body, response.text)
        fields = [error["field"] for error in response.json()["errors"]]
        assert any(f.endswith(field) for f in fields), (field, fields)


def test_text_with_nul_is_a_422_on_every_backend(shared_world: Served) -> None:
    """PostgreSQL text cannot hold U+0000: it used to reach the database as a 500 there."""
    client, world = shared_world.client, shared_world.world
    operator, author = world.headers["operator"], world.headers["author"]
    cases = {
        "terms.1": client.put(
            "/v1/admin/content/compliance-terms",
            json={"terms": ["ok", "bad\x00"]},
            headers=operator,
        ),
        "query.cursor": client.get("/v1/admin/users?cursor=a%00b", headers=operator),
        "path.symbol": client.get("/v1/market/NO%00PE/bars"),
        "path.redemption_id": client.post("/v1/admin/redemptions/x%00y/fulfil", headers=operator),
        "username": client.post(
            "/v1/auth/token", data={"username": "a\x00b", "password": "whatever-it-is"}
        ),
        "title": client.post(
            "/v1/content",
            data={"title": "T\x00"},
            files={"file": ("n.txt", b"Capex.", "text/plain")},
            headers=author,
        ),
    }
    for field, response in cases.items():
        assert response.status_code == 422, (field, response.text)
        assert (response.json()["field"], response.json()["rule"]) == (field, "no_nul")
    literal = client.put(  # a backslash and "u0000" as text is no NUL
        "/v1/admin/content/compliance-terms", json={"terms": ["\\u0000"]}, headers=operator
    )
    assert literal.status_code == 200, literal.text


def test_non_ascii_base64_is_a_422(shared_world: Served) -> None:
    response = shared_world.client.post(
        "/v1/certificates/verify", json={"certificate": {}, "content_base64": "P\u00af=="}
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] in {"content_base64", "certificate"}
