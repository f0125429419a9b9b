"""The trading screen's market data over HTTP: symbol search, a quote with its delay and band,
a day's minute bars and the member's fills; a replay minute contest's future stays hidden."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.http.routes import quotes as quote_routes
from core.db import Database
from core.users.model import Role, User
from engine.intraday_clock import run_intraday_tick
from engine.market.intraday_services import IntradayInstall, install_synthetic_intraday
from engine.market.model import Board, Instrument, Market
from engine.market.sessions import TradingSession, sessions_for
from engine.trading import order_desk, services, store_orders
from engine.uow import EngineUnitOfWork

START = date(2024, 1, 2)


@pytest.fixture
def market(database: Database) -> IntradayInstall:
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(uow, Market.CN, count=3, seed=11, start=START, sessions=2)
    with uow:
        uow.market.add_instruments(
            [
                Instrument(
                    symbol="600519.SS",
                    name="贵州茅台 Moutai",
                    market=Market.CN,
                    board=Board.MAIN,
                    currency="CNY",
                    lot_size=100,
                )
            ]
        )
        uow.commit()
    return done


def _contest(
    database: Database, done: IntradayInstall, universe: list[str] | None = None, first: int = 0
) -> int:
    return services.create_venue(
        EngineUnitOfWork(database.sessions),
        title="minutes",
        market=Market.CN,
        universe=universe or [i.symbol for i in done.instruments],
        starting_cash=Decimal(1_000_000),
        trading_start=done.days[first],
        trading_end=done.days[-1],
        bar_interval="minute",
    ).contest_id


def _session(done: IntradayInstall, index: int = 0) -> TradingSession:
    session = sessions_for(Market.CN).session(done.days[index])
    assert session is not None
    return session


def _tick(database: Database, contest: int, *minutes: datetime) -> None:
    for minute in minutes:
        tick = run_intraday_tick(EngineUnitOfWork(database.sessions), contest, minute, now=minute)
        assert tick.ran


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_symbol_search_by_prefix_or_name_in_any_case_within_a_contest(
    client: TestClient, database: Database, market: IntradayInstall
) -> None:
    first = market.instruments[0]
    search = "/v1/market/instruments"
    by_prefix = client.get(search, params={"q": first.symbol[:6].lower()}).json()["items"]
    assert first.symbol in {i["symbol"] for i in by_prefix}
    word = first.name.split()[0].upper()
    by_name = client.get(search, params={"q": word}).json()["items"]
    assert all(word.lower() in i["name"].lower() or i["symbol"].startswith(word) for i in by_name)
    assert first.symbol in {i["symbol"] for i in by_name}
    chinese = client.get(search, params={"q": "茅台"}).json()["items"]
    assert [i["symbol"] for i in chinese] == ["600519.SS"]
    assert client.get(search, params={"q": "%"}).json()["items"] == []  # LIKE escapes
    contest = _contest(database, market, universe=[first.symbol])
    scoped = client.get(search, params={"contest_id": contest}).json()["items"]
    assert [i["symbol"] for i in scoped] == [first.symbol]
    assert client.get(search, params={"q": "茅台", "contest_id": contest}).json()["items"] == []
    page = client.get(search, params={"limit": 2}).json()
    rest = client.get(search, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) == 2 and rest["items"]
    assert {i["symbol"] for i in page["items"]}.isdisjoint(i["symbol"] for i in rest["items"])


def test_a_quote_and_the_minutes_never_show_a_bar_the_contest_has_not_ticked(
    client: TestClient,
    database: Database,
    market: IntradayInstall,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest = _contest(database, market, first=1)  # its first day has a previous close
    symbol = market.instruments[0].symbol
    session = _session(market, 1)
    minutes = session.minutes()
    uow = EngineUnitOfWork(database.sessions)
    with uow.reading():
        stored = uow.minutes.minute_bars_of_day([symbol], session.day)
    assert len(stored) == len(minutes)  # the whole day is stored before it is ticked
    before = client.get(f"/v1/market/{symbol}/minutes", params={"day": str(session.day)})
    assert before.json()["bars"] == []  # not started: nothing of its first day
    _tick(database, contest, *minutes[:3])
    for params in ({}, {"contest_id": contest}):
        shown = client.get(f"/v1/market/{symbol}/minutes", params=params).json()
        assert shown["day"] == str(session.day)
        assert [datetime.fromisoformat(b["start"]) for b in shown["bars"]] == minutes[:3]
        quote = client.get(f"/v1/market/{symbol}/quote", params=params).json()
        assert Decimal(quote["price"]) == stored[2].close  # the third bar, not the fourth
        assert datetime.fromisoformat(quote["at"]) == minutes[2]
        assert quote["intraday"] is True and quote["delay_seconds"] == 0
        previous = Decimal(quote["previous_close"])
        band = quote["band"]  # main board: ±10% of the previous close
        assert Decimal(band["up"]) == (previous * Decimal("1.1")).quantize(Decimal("0.01"))
        assert Decimal(quote["change"]) == stored[2].close - previous
    # The daily bar of a session being ticked (its close) is hidden as well.
    daily = client.get(f"/v1/market/{symbol}/bars", params={"start": str(session.day)}).json()
    assert daily == []
    # An operator sees every stored bar, unless the contest narrows the view.
    operator = login(make_user(Role.OPERATOR))
    everything = client.get(f"/v1/market/{symbol}/minutes", headers=operator).json()
    assert len(everything["bars"]) == len(minutes)
    narrowed = client.get(
        f"/v1/market/{symbol}/minutes", params={"contest_id": contest}, headers=operator
    ).json()
    assert len(narrowed["bars"]) == 3


def test_the_quote_states_staleness_and_the_session_at_the_wall_clock(
    client: TestClient,
    database: Database,
    market: IntradayInstall,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contest = _contest(database, market)
    symbol = market.instruments[0].symbol
    session = _session(market)
    minutes = session.minutes()
    _tick(database, contest, *minutes[:2])
    url = f"/v1/market/{symbol}/quote"
    assert session.break_start is not None and session.break_end is not None
    calendar = sessions_for(Market.CN)
    unfed = calendar.session(calendar.local_day(calendar.next_open(_session(market, 1).close)))
    assert unfed is not None  # a session with no stored minute: the feed is out
    cases = [
        (minutes[2] + timedelta(seconds=30), "open", False),
        (session.break_start + timedelta(minutes=5), "lunch_break", False),
        (session.close + timedelta(hours=1), "closed", False),
        (unfed.open + timedelta(minutes=30), "open", True),
    ]
    for moment, state, stale in cases:
        monkeypatch.setattr(quote_routes, "utc_now", lambda moment=moment: moment)
        quote = client.get(url, params={"contest_id": contest}).json()
        assert (quote["session"]["state"], quote["stale"]) == (state, stale), moment
        assert (quote["session"]["next_open"] is None) is (state == "open")
        if state == "lunch_break":
            assert datetime.fromisoformat(quote["session"]["next_open"]) == session.break_end
        # The age is the contest's last ticked bar's, however far the stored minutes go.
        assert quote["age_seconds"] == int((moment - minutes[2]).total_seconds())


def test_bad_symbol_day_and_universe_are_problems(
    client: TestClient, database: Database, market: IntradayInstall
) -> None:
    contest = _contest(database, market, universe=[market.instruments[0].symbol])
    other = market.instruments[1].symbol
    for path in ("quote", "minutes"):
        unknown = _problem(client.get(f"/v1/market/NOPE-1/{path}"), 404)
        assert "NOPE-1" in unknown["detail"]
        outside = _problem(
            client.get(f"/v1/market/{other}/{path}", params={"contest_id": contest}), 422
        )
        assert (outside["field"], outside["rule"]) == ("symbol", "not_in_universe")
        missing = _problem(
            client.get(f"/v1/market/{other}/{path}", params={"contest_id": 999}), 404
        )
        assert missing["status"] == 404
    bad_day = _problem(client.get(f"/v1/market/{other}/minutes", params={"day": "2024-02-30"}), 422)
    assert [(e["field"], e["rule"]) for e in bad_day["errors"]] == [
        ("query.day", "date_from_datetime_parsing")
    ], bad_day


def test_the_members_fills_are_their_trade_history_newest_first(
    client: TestClient,
    database: Database,
    market: IntradayInstall,
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contest = _contest(database, market)
    symbol = market.instruments[0].symbol
    session = _session(market)
    minutes = session.minutes()
    member = make_user()
    headers = login(member)
    services.open_account(EngineUnitOfWork(database.sessions), contest, member.id)
    _tick(database, contest, *minutes[:2])
    assert client.get(f"/v1/contests/{contest}/fills", headers=headers).json()["items"] == []
    for index in (1, 2):
        at = minutes[index] + timedelta(seconds=30)  # the minute before has ended: a fresh quote
        monkeypatch.setattr(store_orders, "utc_now", lambda at=at: at)
        monkeypatch.setattr(order_desk, "utc_now", lambda at=at: at)
        order = {"symbol": symbol, "side": "buy", "qty": str(100 * index), "type": "market"}
        placed = client.post(f"/v1/contests/{contest}/orders", json=order, headers=headers)
        assert placed.status_code == 201, placed.text
        _tick(database, contest, minutes[index + 1])
    history = client.get(f"/v1/contests/{contest}/fills", headers=headers).json()
    assert [f["qty"] for f in history["items"]] == ["200", "100"]
    assert history["items"][0]["symbol"] == symbol and history["items"][0]["side"] == "buy"
    first = client.get(f"/v1/contests/{contest}/fills", params={"limit": 1}, headers=headers)
    following = client.get(
        f"/v1/contests/{contest}/fills",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=headers,
    ).json()
    assert [f["qty"] for f in following["items"]] == ["100"]
    stranger = login(make_user())
    _problem(client.get(f"/v1/contests/{contest}/fills", headers=stranger), 404)
