"""A minute contest over HTTP: created with ``bar_interval``, its feed status on the contest."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from core.users.model import Role, User
from tests.e2e.test_contests_api import contest_body, season_body, symbols

__all__ = ["symbols"]  # the fixture


def test_a_minute_contest_shows_its_interval_and_feed_and_a_bad_interval_is_a_problem(
    client: TestClient,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator = login(make_user(Role.OPERATOR))
    season = client.post("/v1/admin/seasons", json=season_body(symbols), headers=operator)
    season_id = season.json()["id"]
    made = client.post(
        "/v1/admin/contests",
        json=contest_body(season_id, bar_interval="minute"),
        headers=operator,
    )
    assert made.status_code == 201, made.text
    shown = client.get(f"/v1/contests/{made.json()['id']}", headers=operator).json()
    assert (shown["bar_interval"], shown["feed_status"]) == ("minute", "live")
    daily = client.post("/v1/admin/contests", json=contest_body(season_id), headers=operator)
    assert (daily.json()["bar_interval"], daily.json()["feed_status"]) == ("daily", None)
    refused = client.post(
        "/v1/admin/contests",
        json=contest_body(season_id, bar_interval="hourly"),
        headers=operator,
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["field"] == "bar_interval"
