"""A minute contest's life over HTTP: members order before its first tick (queued for the open),
and it is finished only once its last session has closed, not from that session's first minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from core.db import Database
from core.users.model import Role, User
from engine import clock
from engine.contests import services as contests
from engine.contests import settlement
from engine.contests.model import ContestState
from engine.contests.settlement import NotFinished
from engine.intraday_clock import run_intraday_tick
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.trading import order_desk
from engine.uow import EngineUnitOfWork
from tests.e2e.test_contests_api import contest_body, season_body, symbols

__all__ = ["symbols"]  # the fixture

DAY = date(2024, 1, 2)  # a Shanghai session inside the synthetic bars


def _minute_contest(
    client: TestClient, symbols: list[str], operator: dict[str, str], member: dict[str, str]
) -> int:
    season = client.post("/v1/admin/seasons", json=season_body(symbols), headers=operator)
    body = contest_body(
        season.json()["id"], bar_interval="minute", trading_start=str(DAY), trading_end=str(DAY)
    )
    contest = client.post("/v1/admin/contests", json=body, headers=operator)
    assert contest.status_code == 201, contest.text
    joined = client.post(f"/v1/contests/{contest.json()['id']}/entries", json={}, headers=member)
    assert joined.status_code == 201, joined.text
    return int(contest.json()["id"])


def test_a_minute_contest_is_finished_only_once_its_last_session_has_closed(
    client: TestClient,
    database: Database,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    operator, member = login(make_user(Role.OPERATOR)), login(make_user())
    contest = _minute_contest(client, symbols, operator, member)
    session = sessions_for(Market.CN).session(DAY)
    assert session is not None
    minutes = session.minutes()
    uow = EngineUnitOfWork(database.sessions)

    def state() -> str:
        return str(client.get(f"/v1/contests/{contest}", headers=operator).json()["state"])

    def finished_ids() -> list[int]:
        page, _ = contests.list_contests(uow, states=(ContestState.FINISHED,), now=session.close)
        return [c.id for c in page]

    # The last (and only) day's first minute: trading has begun, the contest runs.
    assert run_intraday_tick(uow, contest, minutes[0], now=minutes[0]).ran
    assert state() == "running" and contest not in finished_ids()
    assert not clock.advance_clock(uow, contest).finished  # the daily clock's report agrees
    with pytest.raises(NotFinished):
        settlement.settle_contest(uow, contest, now=minutes[0])
    assert run_intraday_tick(uow, contest, minutes[-2], now=minutes[-2]).ran
    assert state() == "running"
    closing = run_intraday_tick(uow, contest, minutes[-1], now=minutes[-1])
    assert closing.session_closed
    assert state() == "finished" and contest in finished_ids()
    assert clock.advance_clock(uow, contest).finished


def test_members_order_in_a_minute_contest_before_its_first_tick(
    client: TestClient,
    database: Database,
    symbols: list[str],
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator, member = login(make_user(Role.OPERATOR)), login(make_user())
    contest = _minute_contest(client, symbols, operator, member)
    session = sessions_for(Market.CN).session(DAY)
    assert session is not None
    url = f"/v1/contests/{contest}/orders"
    with EngineUnitOfWork(database.sessions).reading() as uow:
        price = str(uow.market.previous_closes([symbols[0]], DAY)[symbols[0]])
    limit = {"symbol": symbols[0], "side": "buy", "qty": "100", "type": "limit"}
    # Before the open of its first session, a limit day order queues for the open.
    monkeypatch.setattr(order_desk, "utc_now", lambda: session.open - timedelta(hours=1))
    placed = client.post(url, json={**limit, "limit_price": price}, headers=member)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "new"
    # After the last session's close, the next open is past the trading window.
    monkeypatch.setattr(order_desk, "utc_now", lambda: session.close + timedelta(hours=1))
    late = client.post(url, json={**limit, "limit_price": price}, headers=member)
    assert late.status_code == 422, late.text
    assert late.json()["rule"] == "outside_trading_window"
