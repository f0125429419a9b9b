"""Campaigns and experiments over HTTP: an operator sets up an A/B test and a campaign, grants
through it until the budget is spent (409 campaign_budget_exhausted), reads spent/remaining
and the experiment's lift; bad input is a 4xx problem naming the field; members are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from core.users.model import Role, User

PROBLEM = "application/problem+json"


def _campaign(**changes: Any) -> dict[str, Any]:
    return {
        "key": "launch",
        "title": "Launch week",
        "kind": "points",
        "budget": 30,
        "reward": 10,
        "starts_at": "2020-01-01T00:00:00Z",
        "ends_at": "2100-01-01T00:00:00Z",
        "cap": {"count": 5, "period": "day"},
        "experiment_key": "launch-ab",
    } | changes


def test_campaign_and_experiment_over_http(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    member_user = make_user()
    member = login(member_user)
    experiment = {
        "key": "launch-ab",
        "title": "Launch bonus",
        "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1, "reward": 15}],
    }
    made = client.post("/v1/admin/experiments", json=experiment, headers=operator)
    assert made.status_code == 201, made.text
    created = client.post("/v1/admin/campaigns", json=_campaign(), headers=operator)
    assert created.status_code == 201, created.text
    assert (created.json()["remaining"], created.json()["spent"]) == (30, 0)

    paid = 0
    refused = None
    for n in range(4):
        response = client.post(
            "/v1/admin/campaigns/launch/grants",
            json={"member_id": member_user.id, "operation": f"op-{n}"},
            headers=operator,
        )
        if response.status_code == 409:
            refused = response
            break
        assert response.status_code == 201, response.text
        paid += response.json()["amount"]
    assert refused is not None and refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["rule"] == "campaign_budget_exhausted"
    (listed,) = client.get("/v1/admin/campaigns", headers=operator).json()
    assert listed["spent"] == paid and listed["remaining"] == 30 - paid
    points = client.get("/v1/me/points", headers=member).json()
    assert points["balance"] == paid

    results = client.get("/v1/admin/experiments/launch-ab/results", headers=operator)
    assert results.status_code == 200, results.text
    rows = results.json()["variants"]
    assert [r["name"] for r in rows] == ["a", "b"]
    assert sum(r["members"] for r in rows) == 1
    assert rows[0]["participation_lift"] is None and rows[1]["participation_lift"] is not None

    # members see only the effects
    assert client.get("/v1/admin/campaigns", headers=member).status_code == 403
    assert (
        client.post("/v1/admin/campaigns", json=_campaign(key="x"), headers=member).status_code
        == 403
    )


def test_bad_campaigns_are_problems_naming_the_field(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], dict[str, str]]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    cases = [
        (_campaign(experiment_key="missing"), 422, "experiment_key", "known_experiment"),
        (_campaign(experiment_key=None, timezone="Mars/Base"), 422, "timezone", "iana_time_zone"),
        (
            _campaign(experiment_key=None, ends_at="2019-01-01T00:00:00Z"),
            422,
            "ends_at",
            "after_start",
        ),
        (_campaign(experiment_key=None, kind="item"), 422, "item_key", "required"),
        (_campaign(experiment_key=None, reward=31), 422, "reward", "range"),
    ]
    for body, code, field, rule in cases:
        response = client.post("/v1/admin/campaigns", json=body, headers=operator)
        assert response.status_code == code, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert (problem.get("field"), problem.get("rule")) == (field, rule), problem
    schema = client.post("/v1/admin/campaigns", json=_campaign(budget=0), headers=operator)
    assert schema.status_code == 422 and schema.headers["content-type"].startswith(PROBLEM)
    missing = client.post(
        "/v1/admin/campaigns/none/grants", json={"member_id": 1, "operation": "x"}, headers=operator
    )
    assert missing.status_code == 404
    assert client.get("/v1/admin/experiments/none/results", headers=operator).status_code == 404
