"""``GET /v1/admin/checks`` over HTTP: operators get every check's result (200 even when one
fails: the body says which); members get 403 and no token 401, as problem+json."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.checks import registered_checks
from core.users.model import Role, User
from tests.api_world import StaticChain
from tests.check_world import build_world, corrupt_cash

CHECKS = "/v1/admin/checks"
PROBLEM = "application/problem+json"


def test_operators_run_every_check_and_see_which_fail(
    app: FastAPI,
    client: TestClient,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = make_user(Role.OPERATOR)
    world = build_world(app.state.database, operator)
    app.state.content_chain = StaticChain(world.registry)
    headers = login(operator)

    sound = client.get(CHECKS, headers=headers)
    assert sound.status_code == 200, sound.text
    body = sound.json()
    assert body["ok"] is True
    assert [c["name"] for c in body["checks"]] == [c.name for c in registered_checks()]
    assert all(c["ok"] and c["problems"] == [] and c["problem_count"] == 0 for c in body["checks"])

    corrupt_cash(world)
    broken = client.get(CHECKS, headers=headers)
    assert broken.status_code == 200, broken.text
    body = broken.json()
    assert body["ok"] is False
    by_name = {c["name"]: c for c in body["checks"]}
    assert [name for name, c in by_name.items() if not c["ok"]] == ["trading.books"]
    assert by_name["trading.books"]["problem_count"] == 1
    assert "cash: stored" in by_name["trading.books"]["problems"][0]


def test_members_are_refused_and_anonymous_callers_unauthenticated(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    member = client.get(CHECKS, headers=login(make_user(Role.MEMBER)))
    assert member.status_code == 403, member.text
    assert member.headers["content-type"] == PROBLEM
    assert member.json()["type"] == "/problems/forbidden"
    anonymous = client.get(CHECKS)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
