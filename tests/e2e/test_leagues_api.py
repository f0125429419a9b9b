"""Weekly leagues over HTTP: an operator sets the rules and opens the week, members see their
cohort with zones and set their time zone, a week that has ended is closed and pays once, and
history shows it; the unhappy paths answer problem+json naming the field and the rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from core.clock import utc_now
from core.db import Database
from core.users.model import Role, User
from engine.leagues import model
from engine.leagues import services as leagues
from engine.leagues.uow import LeagueUnitOfWork
from tests.league_builders import earn

PROBLEM = "application/problem+json"
Headers = dict[str, str]


def _problem(response: Any, status: int, field: str, rule: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert (body["field"], body["rule"]) == (field, rule), body


def _rules(client: TestClient, operator: Headers) -> dict[str, Any]:
    got = client.get("/v1/admin/leagues/settings", headers=operator)
    assert got.status_code == 200, got.text
    return got.json()


def test_a_week_over_http_from_rules_to_history(
    client: TestClient,
    database: Database,
    make_user: Callable[..., User],
    login: Callable[[User], Headers],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    rules = _rules(client, operator)
    assert [t["name"] for t in rules["tiers"]][:2] == ["Bronze", "Silver"]
    rules["cohort_size"] = 4
    for tier in rules["tiers"]:
        tier["promote"], tier["demote"] = min(tier["promote"], 1), min(tier["demote"], 1)
        tier["rewards"] = [{"low": 1, "high": 1, "points": 40}]
    put = client.put("/v1/admin/leagues/settings", json=rules, headers=operator)
    assert put.status_code == 200, put.text
    users = [make_user() for _ in range(3)]
    members = [login(u) for u in users]
    assert client.get("/v1/leagues/me", headers=members[0]).status_code == 404  # no week yet
    zone = client.put(
        "/v1/leagues/me/profile", json={"time_zone": "Europe/London"}, headers=members[1]
    )
    assert zone.status_code == 200 and zone.json()["tier_name"] == "Bronze", zone.text
    opened = client.post("/v1/admin/leagues/weeks", headers=operator)
    assert opened.status_code == 201, opened.text
    assert (opened.json()["cohorts"], opened.json()["members"]) == (1, 3)
    earn(LeagueUnitOfWork(database.sessions), users[2].id, 25, at=utc_now())
    mine = client.get("/v1/leagues/me", headers=members[2])
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["tier_name"] == "Bronze" and body["my_rank"] == 1 and 1 <= body["days_left"] <= 7
    assert body["promotion_zone"] == 1 and body["demotion_zone"] == 0
    first = body["standings"][0]
    assert first["me"] and first["zone"] == "promotion" and first["score"] == "25.000000"
    early = client.post(f"/v1/admin/leagues/weeks/{body['week_id']}/close", headers=operator)
    _problem(early, 409, "week_id", "week_not_over")

    # A week that has ended: opened for last week through the services, closed over HTTP.
    uow = LeagueUnitOfWork(database.sessions)
    past = leagues.open_week(uow, now=utc_now() - model.WEEK - timedelta(days=7))
    earn(uow, users[0].id, 5, at=past.starts_at + timedelta(hours=1))
    closing = client.post(f"/v1/admin/leagues/weeks/{past.id}/close", headers=operator)
    assert closing.status_code == 200, closing.text
    assert [(p["member_id"], p["points"]) for p in closing.json()["payouts"]] == [(users[0].id, 40)]
    again = client.post(f"/v1/admin/leagues/weeks/{past.id}/close", headers=operator).json()
    assert (again["paid_now"], again["already_paid"]) == (0, 1)
    history = client.get("/v1/leagues/me/history", headers=members[0]).json()["items"]
    assert [(h["rank"], h["zone"], h["next_tier"], h["points"]) for h in history] == [
        (1, "promotion", 2, 40)
    ]
    weeks = client.get("/v1/admin/leagues/weeks", headers=operator).json()["items"]
    assert [w["closed_at"] is not None for w in weeks] == [True, False]


def test_unhappy_paths_name_the_field_and_the_rule(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    member = login(make_user())
    rules = _rules(client, operator)
    _problem(
        client.put("/v1/leagues/me/profile", json={"time_zone": "Moon/Base"}, headers=member),
        422,
        "time_zone",
        "iana_time_zone",
    )
    top = rules | {"tiers": [*rules["tiers"][:9], rules["tiers"][9] | {"promote": 2}]}
    _problem(
        client.put("/v1/admin/leagues/settings", json=top, headers=operator),
        422,
        "tiers[9].promote",
        "top_tier_promotes",
    )
    _problem(
        client.put(
            "/v1/admin/leagues/settings",
            json=rules | {"tiers": rules["tiers"][:3]},
            headers=operator,
        ),
        422,
        "tiers",
        "ten_tiers",
    )
    _problem(
        client.put(
            "/v1/admin/leagues/settings",
            json=rules | {"basis": "contest", "contest_id": 4242},
            headers=operator,
        ),
        422,
        "contest_id",
        "known_contest",
    )
    assert client.put("/v1/admin/leagues/settings", json=rules, headers=member).status_code == 403
    missing = client.post("/v1/admin/leagues/weeks/777/close", headers=operator)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert client.get("/v1/leagues/me").status_code == 401
