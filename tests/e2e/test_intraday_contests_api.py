"""A minute contest over HTTP: created with ``bar_interval``, its feed status on the contest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine.intraday_clock import run_intraday_tick
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.trading import order_desk
from engine.uow import EngineUnitOfWork
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


def test_orders_in_a_minute_contest_are_refused_outside_the_session_and_without_a_feed(
    client: TestClient,
    database: Database,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator = login(make_user(Role.OPERATOR))
    season = client.post("/v1/admin/seasons", json=season_body(symbols), headers=operator)
    contest = client.post(
        "/v1/admin/contests",
        json=contest_body(season.json()["id"], bar_interval="minute"),
        headers=operator,
    ).json()["id"]
    member = login(make_user())
    assert (
        client.post(f"/v1/contests/{contest}/entries", json={}, headers=member).status_code == 201
    )
    session = sessions_for(Market.CN).session(date(2024, 1, 2))
    assert session is not None
    run_intraday_tick(EngineUnitOfWork(database.sessions), contest, session.open)
    url = f"/v1/contests/{contest}/orders"
    cases = [
        (session.close + timedelta(hours=1), {"type": "market"}, "session_closed", "type"),
        (session.open + timedelta(minutes=30), {"type": "market"}, "stale_feed", "symbol"),
    ]
    for moment, shape, rule, field in cases:
        monkeypatch.setattr(order_desk, "utc_now", lambda moment=moment: moment)
        order = {"symbol": symbols[0], "side": "buy", "qty": "100", **shape}
        refused = client.post(url, json=order, headers=member)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (refused.json()["rule"], refused.json()["field"]) == (rule, field)
    # A limit day order while the exchange is closed queues for the next open.
    monkeypatch.setattr(order_desk, "utc_now", lambda: session.close + timedelta(hours=1))
    uow = EngineUnitOfWork(database.sessions)
    with uow.reading():
        previous = uow.market.previous_closes([symbols[0]], session.day)[symbols[0]]
    queued = {"symbol": symbols[0], "side": "buy", "qty": "100", "type": "limit"}
    placed = client.post(url, json={**queued, "limit_price": str(previous)}, headers=member)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "new"
