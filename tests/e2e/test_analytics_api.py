"""Operator analytics over HTTP: every figure of the seeded world, a segment once a resolver
is installed, and the unhappy paths (bad windows, unknown segments, members) as problem+json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from tests.analytics_world import build_world

PROBLEM = "application/problem+json"
WINDOW = {"from": "2026-01-05", "to": "2026-01-25"}


def _problem(response: Any, status: int, field: str | None = None, rule: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    if field is not None:
        body = response.json()
        assert (body["field"], body["rule"]) == (field, rule), body


def test_operators_read_every_figure_and_others_are_refused(
    app: FastAPI,
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = make_user(Role.OPERATOR)
    world = build_world(database, operator)
    headers = login(operator)
    get = lambda path, **params: client.get(  # noqa: E731
        f"/v1/admin/analytics/{path}", params=params, headers=headers
    )

    overview = get("overview", **WINDOW)
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["window"] == {"from": "2026-01-05", "to": "2026-01-25", "days": 21}
    assert [s["members"] for s in body["funnel"]] == [5, 3, 1, 1, 1]
    assert body["participation"]["active_members"] == 5
    assert len(body["participation"]["days"]) == 21
    assert body["liability"] | {"cost_cny": None} == {
        "members": 3,
        "posted": 230,
        "held": 40,
        "spendable": 190,
        "cost_cny": None,
    }
    assert body["reward_cost"]["issued_points"] == 150
    assert body["reward_cost"]["redeemed_points"] == 60

    cohorts = get("retention", **WINDOW).json()["cohorts"]
    assert [(c["week"], c["size"], c["retained"]) for c in cohorts] == [
        ("2026-01-05", 3, [1, 1, 1]),
        ("2026-01-12", 1, [1, 0]),
        ("2026-01-19", 1, [1]),
    ]
    funnel = get("funnel", streak=4, **WINDOW).json()
    assert [s["members"] for s in funnel["stages"]] == [5, 3, 1, 0, 0]
    assert get("liability").json()["spendable"] == 190
    redeemed = get("reward-cost", **WINDOW).json()["redeemed"]
    assert [(r["item_key"], r["points"]) for r in redeemed] == [("book", 40), ("ticket", 20)]

    # Unhappy paths: problem+json naming the field and the rule, never a 500.
    _problem(
        get("funnel", **{"from": "2026-02-01", "to": "2026-01-01"}), 422, "from", "ordered_window"
    )
    _problem(get("overview", **{"from": "2020-01-01", "to": "2026-01-01"}), 422, "to", "max_span")
    _problem(get("retention", **{"from": "not-a-date"}), 422)
    _problem(get("funnel", streak=0), 422)
    _problem(get("liability", segment="whales"), 422, "segment", "unknown_segment")
    _problem(get("liability", segment="Not A Key!"), 422)
    member = login(make_user(Role.MEMBER))
    for path in ("overview", "retention", "funnel", "liability", "reward-cost"):
        _problem(client.get(f"/v1/admin/analytics/{path}", headers=member), 403)
        _problem(client.get(f"/v1/admin/analytics/{path}"), 401)

    # With a resolver in place of the app's (core.segments), ?segment narrows every figure.
    installed = app.state.segment_resolver
    app.state.segment_resolver = lambda _session, key: {"early": world.of("a", "b", "c")}[key]
    try:
        narrowed = get("overview", segment="early", **WINDOW).json()
        assert narrowed["segment"] == "early"
        assert [s["members"] for s in narrowed["funnel"]] == [3, 2, 1, 1, 1]
        _problem(get("liability", segment="late"), 422, "segment", "unknown_segment")
    finally:
        app.state.segment_resolver = installed
