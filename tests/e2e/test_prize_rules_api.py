"""Prize rules over HTTP: an operator publishes a disclosed contest with a draw, members read
its official rules (JSON or Markdown, zh-CN or en); each broken rule is a problem+json 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.users.model import Role, User
from tests.contest_builders import DISCLOSURES_JSON
from tests.e2e.test_contests_api import contest_body, season_body, symbols  # noqa: F401

DRAW = {"winners": 2, "cash_value": "188.00", "min_trades": 1, "points": 800}


def _season(client: TestClient, operator: dict[str, str], universe: list[str]) -> int:
    created = client.post("/v1/admin/seasons", json=season_body(universe), headers=operator)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_a_disclosed_contest_with_a_draw_publishes_its_official_rules(
    client: TestClient,
    symbols: list[str],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    body = contest_body(_season(client, operator, symbols), draws=[DRAW])
    created = client.post("/v1/admin/contests", json=body, headers=operator)
    assert created.status_code == 201, created.text
    contest = created.json()
    assert contest["draws"][0]["cash_value"] == "188.00" and contest["entry_fee_points"] == 0
    assert contest["disclosures"]["organiser"] == DISCLOSURES_JSON["organiser"]
    assert len(contest["draw_commitment"]) == 64 and contest["draw_seed"] is None

    member = login(make_user())
    url = f"/v1/contests/{contest['id']}/official-rules"
    rules = client.get(url, headers=member)
    assert rules.status_code == 200, rules.text
    document = rules.json()
    assert document["language"] == "zh-CN" and document["title"] == "A-share cup 官方规则"
    sections = {s["key"]: s for s in document["sections"]}
    assert sections["organiser"]["lines"] == [DISCLOSURES_JSON["organiser"]]
    assert any("¥188" in line for line in sections["prizes"]["lines"])
    assert contest["draw_commitment"] in sections["draw"]["lines"][0]
    markdown = client.get(url, params={"lang": "en", "format": "markdown"}, headers=member)
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# A-share cup: official rules\n")
    assert "Free entry" in markdown.text and "¥50,000" in markdown.text
    joined = client.post(f"/v1/contests/{contest['id']}/entries", json={}, headers=member)
    assert joined.status_code == 201, joined.text
    unknown = client.get(url, params={"lang": "fr"}, headers=member)
    assert unknown.status_code == 422 and unknown.json()["field"] == "query.lang"


def _missing(**blank: Any) -> dict[str, Any]:
    return {"disclosures": {**DISCLOSURES_JSON, **blank}}


@pytest.mark.parametrize(
    ("changes", "field", "rule", "fields"),
    [
        (
            {"draws": [{**DRAW, "cash_value": "50000.01"}]},
            "draws[0].cash_value",
            "draw_prize_cap",
            ["draws[0].cash_value"],
        ),
        (  # 6,000,000 points at ¥0.01 is ¥60,000, whatever value is stated
            {"draws": [{**DRAW, "points": 6_000_000}]},
            "draws[0].cash_value",
            "draw_prize_cap",
            ["draws[0].cash_value"],
        ),
        ({"entry_fee_points": 100}, "entry_fee_points", "paid_entry_with_prizes", None),
        (
            _missing(organiser="", award_date=None, terms_url=""),
            "disclosures.organiser",
            "disclosure_required",
            ["disclosures.organiser", "disclosures.award_date", "disclosures.terms"],
        ),
        (
            {"draws": [DRAW], **_missing(draw_date=None)},
            "disclosures.draw_date",
            "disclosure_required",
            ["disclosures.draw_date"],
        ),
        (
            _missing(award_date="2024-01-02"),
            "disclosures.award_date",
            "after_trading_end",
            ["disclosures.award_date"],
        ),
    ],
)
def test_each_broken_prize_rule_is_a_problem_naming_the_field(
    client: TestClient,
    symbols: list[str],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
    changes: dict[str, Any],
    field: str,
    rule: str,
    fields: list[str] | None,
) -> None:
    operator = login(make_user(Role.OPERATOR))
    body = contest_body(_season(client, operator, symbols), **changes)
    refused = client.post("/v1/admin/contests", json=body, headers=operator)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert (problem["field"], problem["rule"]) == (field, rule), problem
    assert [e["field"] for e in problem["errors"]] == (fields or [field])
    assert {e["rule"] for e in problem["errors"]} == {rule}
    assert client.get("/v1/contests", headers=operator).json()["items"] == []


def test_a_private_undisclosed_contest_refuses_entries_and_publishing(
    client: TestClient,
    symbols: list[str],  # noqa: F811
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    body = contest_body(_season(client, operator, symbols), private=True, disclosures={})
    contest = client.post("/v1/admin/contests", json=body, headers=operator).json()
    member = login(make_user())
    entry = {"invite_code": contest["invite_code"]}
    refused = client.post(f"/v1/contests/{contest['id']}/entries", json=entry, headers=member)
    assert refused.status_code == 422, refused.text
    assert refused.json()["rule"] == "disclosure_required"
    assert len(refused.json()["errors"]) == 7
    url = f"/v1/admin/contests/{contest['id']}"
    public = client.patch(url, json={"private": False}, headers=operator)
    assert public.status_code == 422 and public.json()["rule"] == "disclosure_required"
    fixed = client.patch(url, json={"disclosures": DISCLOSURES_JSON}, headers=operator)
    assert fixed.status_code == 200, fixed.text
    joined = client.post(f"/v1/contests/{contest['id']}/entries", json=entry, headers=member)
    assert joined.status_code == 201, joined.text
