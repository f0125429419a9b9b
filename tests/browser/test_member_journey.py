"""A member's contest in a real browser: sign up, join a contest, form a team, place an order
the rules refuse (its reason shown inline) and one they accept, cancel a resting order; the
operator advances the clock and the member sees the fill, the equity curve, the leaderboard
with their pinned row, the PK results, and after settlement the prizes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import shoot
from tests.browser.world import PASSWORD, World, ok

pytestmark = pytest.mark.browser


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_member_signs_up_joins_trades_and_ranks(page: Any, world: World) -> None:
    expect = _expect()
    contest_id = world.cn_contest["id"]
    symbol = world.cn_symbols[0]

    page.goto("/")
    expect(page).to_have_url(re.compile(r"#/login"))
    shoot(page, "login")
    page.click("a[href='#/signup']")
    page.fill("[name=username]", "alice")
    page.fill("[name=display_name]", "Alice")
    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")

    card = page.locator(f"article[data-contest='{contest_id}']")
    expect(card).to_contain_text("A-share cup")
    shoot(page, "lobby")
    shoot(page, "lobby", phone=True)
    card.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"#/contests/{contest_id}$"))
    # A CN-market contest: Chinese by default, gains red and losses green.
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("body")).to_have_attribute("data-updown", "cn")

    # Teams are fixed once trading starts: form one first.
    page.click(f"a[href='#/contests/{contest_id}/team']")
    page.fill("[name=name]", "Alpha")
    page.click("form.inline-form button[type=submit]")
    expect(page.locator("#invite-code")).to_have_text(re.compile(r"\S{4,}"))

    world.advance(contest_id, 1)
    world.rivals_trade()
    page.click(f"a[href='#/contests/{contest_id}']")
    ticket = page.locator("form.ticket")
    ticket.locator("[name=symbol]").fill(symbol)

    ticket.locator("[name=qty]").fill("150")
    ticket.locator("[name=place]").click()
    refusal = ticket.locator(".problem[data-rule=lot_size]")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("数量须为整手")  # the rule's name, in the page's language
    expect(refusal.locator("code")).to_have_text("lot_size")
    expect(ticket.locator("[data-field=qty] .field-error")).not_to_be_empty()
    expect(ticket.locator("[name=qty]")).to_have_attribute("aria-invalid", "true")

    ticket.locator("[name=qty]").fill("200")
    ticket.locator("[name=place]").click()
    expect(ticket.locator(".ticket-result .notice.success")).to_be_visible()
    expect(ticket.locator(".problem")).to_have_count(0)

    # A resting limit order inside the price band, then cancelled.
    ticket.locator("[name=type]").select_option("limit")
    ticket.locator("input[name=size_by][value=qty]").check()
    ticket.locator("[name=qty]").fill("100")
    ticket.locator("[name=limit_price]").fill(_below_last_close(world, symbol))
    ticket.locator("[name=time_in_force]").select_option("gtc")
    ticket.locator("[name=place]").click()
    accepted = ticket.locator(".ticket-result .notice.success")
    expect(accepted).to_be_visible()
    limit_order = accepted.get_attribute("data-order")
    open_orders = page.locator("tr[data-order]", has=page.locator("button.small"))
    expect(open_orders).to_have_count(2)  # the market order waits for the next bar too
    page.locator(f"tr[data-order='{limit_order}'] button.small").click()
    expect(open_orders).to_have_count(1)
    expect(page.locator(f"tr[data-order='{limit_order}'][data-status=canceled]")).to_be_visible()

    world.advance(contest_id, 3)
    # No reload: the live event stream reports the fill and the page refreshes its orders.
    expect(page.locator(f"tr[data-symbol='{symbol}']")).to_be_visible()
    expect(page.locator("tr[data-status=filled]")).to_have_count(1)
    expect(page.locator(".chart-box canvas")).to_be_visible()
    shoot(page, "contest")
    shoot(page, "contest", phone=True)

    page.locator(f"tr[data-symbol='{symbol}'] button").click()  # "sell" fills the ticket
    expect(ticket.locator("input[name=side][value=sell]")).to_be_checked()
    expect(ticket.locator("[name=qty]")).to_have_value("200")
    ticket.locator("[name=type]").select_option("market")
    ticket.locator("[name=place]").click()
    expect(ticket.locator(".ticket-result .notice.success")).to_be_visible()

    page.click(f"a[href='#/contests/{contest_id}/leaderboard']")
    board = page.locator("table.board")
    expect(board.locator("tbody tr")).to_have_count(5)
    expect(board.locator("tbody tr.me")).to_contain_text("Alice")
    expect(board.locator("tfoot.sticky-me tr.me")).to_contain_text("Alice")
    shoot(page, "leaderboard")
    shoot(page, "leaderboard", phone=True)
    # The official rules, generated from the locked (and anchored) settings, in Chinese here.
    page.click("#official-rules summary")
    expect(page.locator("#official-rules h3")).to_contain_text("A-share cup")
    expect(page.locator("#official-rules [data-section]").first).to_be_visible()
    page.click(f"a[href='#/contests/{contest_id}/leaderboard?view=around']")
    expect(board.locator("tbody tr.me")).to_contain_text("Alice")

    page.click(f"a[href='#/contests/{contest_id}/team']")
    # Rounds of 2 bars after 4 bars: two judged, the third paired and in play.
    expect(page.locator(".pk-round")).to_have_count(3)
    expect(page.locator(".pk-boards li.me").first).to_contain_text("Alpha")
    shoot(page, "team")

    world.finish_and_settle(contest_id)
    page.click(f"a[href='#/contests/{contest_id}/leaderboard']")
    prizes = page.locator("section", has=page.get_by_role("heading", name="奖品"))
    expect(prizes.locator("tbody tr")).to_have_count(3)
    expect(prizes.locator("tbody")).to_contain_text("已发放")
    shoot(page, "prizes")


def _below_last_close(world: World, symbol: str) -> str:
    """A limit price 5 % under the last close: inside the ±10 % band, unlikely to fill."""
    bars = ok(
        world.http.get(f"/v1/market/{symbol}/bars", params={"contest_id": world.cn_contest["id"]})
    )
    return str((Decimal(bars[-1]["close"]) * Decimal("0.95")).quantize(Decimal("0.01")))
