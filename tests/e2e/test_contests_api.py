"""Seasons and contests over HTTP: operators configure, members browse and join."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.uow import EngineUnitOfWork
from tests.contest_builders import DISCLOSURES_JSON

START = date(2024, 1, 1)


@pytest.fixture
def symbols(database: Database) -> list[str]:
    uow = EngineUnitOfWork(database.sessions)
    instruments = install_synthetic(uow, Market.CN, count=4, seed=3, start=START, days=20)  # type: ignore[arg-type]
    return [i.symbol for i in instruments]


def season_body(symbols: list[str], **changes: Any) -> dict[str, Any]:
    today = date.today()
    return {
        "name": "Spring",
        "timezone": "Asia/Shanghai",
        "starts_on": str(today - timedelta(days=1)),
        "ends_on": str(today + timedelta(days=365)),
        "market": "CN",
        "universe": symbols,
        "replay_start": "2024-01-01",
        "replay_end": "2024-01-26",
        **changes,
    }


def contest_body(season_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "season_id": season_id,
        "title": "A-share cup",
        "trading_start": "2024-01-01",
        "trading_end": "2024-01-26",
        "starting_cash": "1000000.00",
        "metric": {
            "kind": "composite",
            "weights": {"total_return": "0.7", "win_rate": "0.15", "max_drawdown": "0.15"},
        },
        "qualification": {"min_trades": 1},
        "prizes": [
            {"ranks": [1, 1], "points": 1000, "xp": 100},
            {"ranks": [2, 5], "points": 200},
        ],
        "disclosures": DISCLOSURES_JSON,
        **changes,
    }


def test_operator_configures_members_join_and_the_clock_runs(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    season = client.post("/v1/admin/seasons", json=season_body(symbols), headers=operator)
    assert season.status_code == 201, season.text
    season_id = season.json()["id"]
    created = client.post("/v1/admin/contests", json=contest_body(season_id), headers=operator)
    assert created.status_code == 201, created.text
    contest = created.json()
    assert contest["state"] == "registration"
    assert contest["metric"]["weights"] == {
        "total_return": "0.7",
        "win_rate": "0.15",
        "max_drawdown": "0.15",
    }
    member = login(make_user())
    url = f"/v1/contests/{contest['id']}"
    joined = client.post(f"{url}/entries", json={}, headers=member)
    assert joined.status_code == 201, joined.text
    again = client.post(f"{url}/entries", json={}, headers=member)
    assert again.status_code == 409
    assert again.json()["rule"] == "one_entry"
    listed = client.get(
        "/v1/contests", params={"season_id": season_id, "state": "registration"}, headers=member
    )
    assert [c["id"] for c in listed.json()["items"]] == [contest["id"]]
    assert client.get(url, headers=member).json()["entries"] == 1

    clock = client.post(
        f"/v1/admin/contests/{contest['id']}/clock", json={"bars": 3}, headers=operator
    )
    assert clock.status_code == 200, clock.text
    assert len(clock.json()["days"]) == 3
    assert client.get(url, headers=member).json()["state"] == "running"
    # A call naming its target day is safe to retry: the repeat reveals nothing.
    clock_url = f"/v1/admin/contests/{contest['id']}/clock"
    target = clock.json()["days"][-1]
    for _ in range(2):
        again = client.post(clock_url, json={"bars": 5, "until": target}, headers=operator)
        assert again.status_code == 200, again.text
        assert again.json()["days"] == [] and again.json()["clock_day"] == target
    locked = client.patch(
        f"/v1/admin/contests/{contest['id']}", json={"starting_cash": "5.00"}, headers=operator
    )
    assert locked.status_code == 409
    assert locked.json()["field"] == "starting_cash"
    assert locked.json()["rule"] == "locked_after_start"
    renamed = client.patch(
        f"/v1/admin/contests/{contest['id']}", json={"title": "Renamed"}, headers=operator
    )  # the title is part of the locked rules snapshot (issue 19)
    assert renamed.status_code == 409 and renamed.json()["field"] == "title"
    assert (
        client.post(
            f"/v1/admin/contests/{contest['id']}/clock", json={"bars": 1}, headers=member
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        (
            {"prizes": [{"ranks": [1, 3], "points": 5}, {"ranks": [3, 4], "points": 1}]},
            "prizes",
            "overlapping",
        ),
        (
            {"prizes": [{"top_percent": ["0", "10"], "points": 5}, {"ranks": [1, 1], "points": 1}]},
            "prizes",
            "mixed_kinds",
        ),
        ({"prizes": [{"ranks": [1, 1]}]}, "prizes[0]", "non_empty"),
        (
            {"metric": {"kind": "composite", "weights": {"total_return": "0.5"}}},
            "metric.weights",
            "sum_to_one",
        ),
        ({"rules": {"max_position_pct": "2"}}, "rules.max_position_pct", None),
        ({"trading_end": "2023-12-01"}, "trading_end", "after_start"),
        (
            {
                "registration_opens_at": "2026-03-02T00:00:00",
                "registration_closes_at": "2026-03-01T00:00:00",
            },
            "registration_closes_at",
            "after_open",
        ),
    ],
)
def test_bad_contests_are_problems_naming_field_and_rule(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
    changes: dict[str, Any],
    field: str,
    rule: str | None,
) -> None:
    operator = login(make_user(Role.OPERATOR))
    season_id = client.post(
        "/v1/admin/seasons", json=season_body(symbols), headers=operator
    ).json()["id"]
    refused = client.post(
        "/v1/admin/contests", json=contest_body(season_id, **changes), headers=operator
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["field"] == field, body
    if rule:
        assert body["rule"] == rule
    assert client.get("/v1/contests", headers=operator).json()["items"] == []


def test_private_contest_needs_its_code_and_hides_it_from_members(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    season_id = client.post(
        "/v1/admin/seasons", json=season_body(symbols), headers=operator
    ).json()["id"]
    contest = client.post(
        "/v1/admin/contests", json=contest_body(season_id, private=True), headers=operator
    ).json()
    code = contest["invite_code"]
    assert code
    member = login(make_user())
    hidden = client.get(f"/v1/contests/{contest['id']}", headers=member)
    assert hidden.status_code == 404  # without its code, as if it did not exist
    seen = client.get(f"/v1/contests/{contest['id']}", params={"code": code}, headers=member).json()
    assert seen["private"] and seen["invite_code"] is None
    wrong = client.post(
        f"/v1/contests/{contest['id']}/entries", json={"invite_code": "nope"}, headers=member
    )
    assert wrong.status_code == 404
    missing = client.post(f"/v1/contests/{contest['id']}/entries", json={}, headers=operator)
    assert missing.status_code == 403 and missing.json()["rule"] == "invite_code"
    right = client.post(
        f"/v1/contests/{contest['id']}/entries", json={"invite_code": code}, headers=member
    )
    assert right.status_code == 201


def test_season_validation_and_unknown_ids(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    bad_zone = client.post(
        "/v1/admin/seasons", json=season_body(symbols, timezone="Mars/Olympus"), headers=operator
    )
    assert bad_zone.status_code == 422 and bad_zone.json()["field"] == "timezone"
    unknown = client.post("/v1/admin/seasons", json=season_body(["NOPE"]), headers=operator)
    assert unknown.status_code == 422 and unknown.json()["rule"] == "known_symbol"
    assert client.get("/v1/contests/999", headers=operator).status_code == 404
    assert (
        client.post("/v1/admin/contests", json=contest_body(999), headers=operator).status_code
        == 404
    )
    member = login(make_user())
    assert (
        client.post("/v1/admin/seasons", json=season_body(symbols), headers=member).status_code
        == 403
    )
