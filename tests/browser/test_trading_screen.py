"""The intraday trading screen in a real browser: a member of a replay minute contest searches
a symbol, reads its quote (price, delay, band, session) and intraday chart, places a limit
order and sees it in their order book; a minute bar ticked through the service fills it and
the fill reaches their trade history through the live stream, without a reload."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from api.http.routes import quotes as quote_routes
from engine.intraday_clock import run_intraday_tick
from engine.market.intraday_services import install_synthetic_intraday
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.trading import order_desk, store_orders
from engine.uow import EngineUnitOfWork
from tests.browser.conftest import LiveApp, shoot
from tests.browser.world import PASSWORD, World, ok
from tests.contest_builders import DISCLOSURES_JSON

pytestmark = pytest.mark.browser
START = date(2024, 1, 2)
TICKED = 5  # minutes of the contest's first session ticked before the member looks


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _minute_contest(world: World, live_app: LiveApp) -> tuple[int, str, list[datetime]]:
    """A CN minute contest over the second of two synthetic sessions (the first gives the
    previous close), its first minutes ticked; rival0 has entered it."""
    uow = EngineUnitOfWork(live_app.database.sessions)
    done = install_synthetic_intraday(uow, Market.CN, count=3, seed=21, start=START, sessions=2)
    symbols = [i.symbol for i in done.instruments]
    today = date.today()
    season = {
        "name": "Intraday spring",
        "timezone": "Asia/Shanghai",
        "starts_on": str(today - timedelta(days=1)),
        "ends_on": str(today + timedelta(days=120)),
        "market": "CN",
        "universe": symbols,
        "replay_start": str(done.days[0]),
        "replay_end": str(done.days[-1]),
    }
    made = ok(world.http.post("/v1/admin/seasons", json=season, headers=world.operator), 201)
    body = {
        "season_id": made["id"],
        "title": "Minute cup",
        "trading_start": str(done.days[1]),
        "trading_end": str(done.days[1]),
        "starting_cash": "1000000.00",
        "disclosures": DISCLOSURES_JSON,
        "bar_interval": "minute",
    }
    contest = ok(world.http.post("/v1/admin/contests", json=body, headers=world.operator), 201)
    ok(
        world.http.post(f"/v1/contests/{contest['id']}/entries", json={}, headers=world.rivals[0]),
        201,
    )
    session = sessions_for(Market.CN).session(done.days[1])
    assert session is not None
    minutes = session.minutes()
    for minute in minutes[:TICKED]:
        assert run_intraday_tick(uow, contest["id"], minute, now=minute).ran
    return contest["id"], symbols[0], minutes


@pytest.mark.parametrize("world", ["bare"], indirect=True)
def test_member_searches_quotes_charts_places_and_sees_the_fill(
    page: Any, world: World, live_app: LiveApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    expect = _expect()
    contest_id, symbol, minutes = _minute_contest(world, live_app)
    # The wall clock of the server's order desk and quotes: just after the last ticked minute.
    moment = minutes[TICKED - 1] + timedelta(seconds=30)
    for module in (order_desk, store_orders, quote_routes):
        monkeypatch.setattr(module, "utc_now", lambda: moment)

    page.context.add_init_script("localStorage.setItem('paperleague.locale', 'en')")
    page.goto(f"/#/login?next=/contests/{contest_id}")
    page.fill("[name=username]", "rival0")
    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(rf"#/contests/{contest_id}$"))

    page.locator(".symbol-search input").fill(symbol[:6].lower())  # a prefix, any case
    suggestion = page.locator(f"button.suggestion[data-symbol='{symbol}']")
    expect(suggestion).to_be_visible()
    suggestion.click()
    ticket = page.locator("form.ticket")
    expect(ticket.locator("[name=symbol]")).to_have_value(symbol)

    quote = page.locator(".quote")
    expect(quote.locator(".quote-symbol")).to_have_text(symbol)
    expect(quote.locator(".delay")).to_have_text("Real time")
    expect(quote.locator(".session")).to_have_attribute("data-state", "open")
    expect(quote.locator(".band")).to_contain_text("–")
    price = Decimal(quote.locator(".quote-price").get_attribute("data-price") or "0")
    assert price > 0
    expect(page.locator("section[data-bars]")).to_have_attribute("data-bars", str(TICKED))
    shoot(page, "trading-screen")

    # A limit buy above the last price (inside the band) fills at the next minute's price.
    ticket.locator("[name=type]").select_option("limit")
    ticket.locator("[name=qty]").fill("100")
    ticket.locator("[name=limit_price]").fill(
        str((price * Decimal("1.02")).quantize(Decimal("0.01")))
    )
    ticket.locator("[name=place]").click()
    accepted = ticket.locator(".ticket-result .notice.success")
    expect(accepted).to_be_visible()
    order_id = accepted.get_attribute("data-order")
    book = page.locator("section", has=page.locator("h2", has_text="Order book"))
    expect(book.locator(f"tr[data-order='{order_id}']")).to_be_visible()
    history = page.locator("section", has=page.locator("h2", has_text="Trade history"))
    expect(history.locator("tr[data-fill]")).to_have_count(0)

    uow = EngineUnitOfWork(live_app.database.sessions)
    tick = run_intraday_tick(uow, contest_id, minutes[TICKED], now=minutes[TICKED])
    assert [f.order_id for f in tick.fills] == [int(order_id or 0)]
    # The live stream (order.fill) refreshes the member's panels: no reload.
    expect(history.locator(f"tr[data-order='{order_id}']")).to_be_visible(timeout=25_000)
    expect(book.locator(f"tr[data-order='{order_id}']")).to_have_count(0)
    shoot(page, "trading-screen-filled")
