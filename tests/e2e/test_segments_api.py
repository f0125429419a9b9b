"""Segments over HTTP: a member answers the onboarding questionnaire, an operator defines a
segment, sees its size, previews another and refreshes the tags; a reward targeted at the
segment refuses an outsider with 403 ``segment_required``; bad input is problem+json naming
the field and the rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from core.users.model import Role, User

PROBLEM = "application/problem+json"
Headers = dict[str, str]
BOLD = {"answer": "risk_tolerance", "in": ["high"]}


def _problem(response: Any, status: int, field: str, rule: str) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert (body["field"], body["rule"]) == (field, rule), body
    return body


def test_onboarding_segments_sizes_and_a_targeted_reward(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    bold_user, timid_user = make_user(), make_user()
    bold, timid = login(bold_user), login(timid_user)

    shown = client.get("/v1/me/onboarding", headers=bold).json()
    assert shown["revision"] == 0 and shown["answers"] == {}
    questions = {q["key"]: q for q in shown["questionnaire"]}
    assert "high" in questions["risk_tolerance"]["choices"] and questions["interests"]["multiple"]
    put = client.put(
        "/v1/me/onboarding",
        json={"answers": {"risk_tolerance": "high", "interests": ["etfs"]}},
        headers=bold,
    )
    assert put.status_code == 200, put.text
    assert put.json()["answers"] == {"risk_tolerance": "high", "interests": ["etfs"]}
    client.put("/v1/me/onboarding", json={"answers": {"risk_tolerance": "low"}}, headers=timid)
    _problem(
        client.put(
            "/v1/me/onboarding", json={"answers": {"risk_tolerance": "yolo"}}, headers=timid
        ),
        422,
        "answers.risk_tolerance",
        "one_of",
    )

    assert client.get("/v1/admin/segments", headers=bold).status_code == 403
    made = client.post(
        "/v1/admin/segments",
        json={"key": "bold", "name": "Bold investors", "definition": BOLD},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    assert made.json()["size"] == 1
    _problem(
        client.post(
            "/v1/admin/segments",
            json={"key": "bold", "name": "Again", "definition": BOLD},
            headers=operator,
        ),
        409,
        "key",
        "segment_taken",
    )
    _problem(
        client.post(
            "/v1/admin/segments/preview",
            json={"definition": {"any": [BOLD, {"tag": "whale"}]}},
            headers=operator,
        ),
        422,
        "definition.any[1].tag",
        "one_of",
    )
    preview = client.post(
        "/v1/admin/segments/preview", json={"definition": {"not": BOLD}}, headers=operator
    )
    assert preview.json() == {"size": 2}  # the timid member and the operator
    assert [s["size"] for s in client.get("/v1/admin/segments", headers=operator).json()] == [1]
    assert client.get("/v1/admin/segments/nope", headers=operator).status_code == 404
    # The operator analytics read a segment's members through the same definition.
    funnel = client.get("/v1/admin/analytics/funnel", params={"segment": "bold"}, headers=operator)
    assert funnel.status_code == 200, funnel.text
    assert funnel.json()["stages"][0]["members"] == 1

    refreshed = client.post("/v1/admin/segment-tags/refresh", headers=operator)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["counts"]["new"] == 3
    counts = client.get("/v1/admin/segment-tags", headers=operator).json()["counts"]
    assert counts == refreshed.json()["counts"]

    _problem(
        client.post(
            "/v1/admin/rewards",
            json={"key": "cap", "name": "Cap", "cost_points": 1, "stock": 2, "target_segment": "x"},
            headers=operator,
        ),
        422,
        "target_segment",
        "known_segment",
    )
    item = client.post(
        "/v1/admin/rewards",
        json={"key": "cap", "name": "Cap", "cost_points": 1, "stock": 2, "target_segment": "bold"},
        headers=operator,
    )
    assert item.status_code == 201, item.text
    for user in (bold_user, timid_user):
        granted = client.post(
            "/v1/admin/points/grants",
            json={"member_id": user.id, "asset": "POINTS", "amount": 5, "reason": "welcome"},
            headers=operator,
        )
        assert granted.status_code == 201, granted.text
    refused = _problem(
        client.post(f"/v1/rewards/{item.json()['id']}/redemptions", headers=timid),
        403,
        "item_id",
        "segment_required",
    )
    assert refused["segment"] == "bold"
    redeemed = client.post(f"/v1/rewards/{item.json()['id']}/redemptions", headers=bold)
    assert redeemed.status_code == 201, redeemed.text
