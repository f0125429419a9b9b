"""The member's other pages in a real browser: refusals shown on the fields they name, the
points page (check-in and its streak, redeeming a reward, history), joining a private contest
by its invite link, and the language and colour conventions per market."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import shoot
from tests.browser.world import INVITE_CODE, PASSWORD, World, ok

pytestmark = pytest.mark.browser


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _member(world: World, username: str) -> None:
    body = {"username": username, "password": PASSWORD, "display_name": username.title()}
    ok(world.http.post("/v1/auth/signup", json=body), 201)


def _sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/#/login")
    page.fill("[name=username]", username)
    page.fill("[name=password]", password)
    page.click("button[type=submit]")


def test_refusals_are_shown_on_the_fields_they_name(page: Any, world: World) -> None:
    expect = _expect()
    page.goto("/#/signup")
    page.fill("[name=username]", "rival0")  # taken by the world
    page.fill("[name=display_name]", "Someone")
    page.fill("[name=password]", "short")
    page.click("button[type=submit]")
    expect(page.locator("[data-field=password] .field-error")).not_to_be_empty()
    expect(page.locator("[name=password]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".form-alert .problem")).to_have_attribute("data-rule", "password_length")

    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("[data-field=username] .field-error")).to_contain_text("taken")
    expect(page.locator("[name=password]")).not_to_have_attribute("aria-invalid", "true")

    _sign_in(page, "rival0", "wrong password!")
    expect(page.locator(".form-alert .problem")).to_contain_text("Wrong username or password")
    expect(page).to_have_url(re.compile(r"#/login"))


def test_points_check_in_streak_redeem_and_history(page: Any, world: World) -> None:
    expect = _expect()
    _member(world, "bella")
    _sign_in(page, "bella")
    page.click("a[href='#/points']")
    expect(page.locator("#points-balance")).to_have_text("0")
    page.click("#check-in")
    expect(page.locator("[data-streak='1']")).to_contain_text("1-day streak")
    expect(page.locator("#points-balance")).to_have_text("10")
    page.click("#check-in")
    expect(page.locator(".problem[data-rule=one_checkin_per_local_day]")).to_be_visible()

    page.locator("tr[data-reward=salon-ticket] button").click()
    expect(page.get_by_text("Redeemed: Salon ticket.")).to_be_visible()
    expect(page.locator("#points-balance")).to_have_text("5")
    expect(page.get_by_role("cell", name="Completed")).to_be_visible()
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    # Check-in: points and XP in; redemption: points out, the ticket in.
    expect(history.locator("tbody tr")).to_have_count(4)
    expect(page.locator("progress#level-progress")).to_have_attribute("value", "5")
    shoot(page, "points")
    shoot(page, "points", phone=True)


def test_private_contest_opens_only_by_its_invite_link(page: Any, world: World) -> None:
    expect = _expect()
    _member(world, "carl")
    _sign_in(page, "carl")
    private = world.private_contest["id"]
    expect(page.locator(f"article[data-contest='{world.us_contest['id']}']")).to_be_visible()
    expect(page.locator(f"article[data-contest='{private}']")).to_have_count(0)  # not listed
    page.goto(f"/#/contests/{private}?code=not-the-code")
    expect(page.locator(".problem")).to_be_visible()  # as if there were no such contest
    expect(page.locator("form.join")).to_have_count(0)
    page.goto(f"/#/contests/{private}?code={INVITE_CODE}")
    expect(page.locator("form.join [name=invite_code]")).to_have_value(INVITE_CODE)
    page.locator("form.join button[type=submit]").click()
    expect(page.locator(".ticket")).to_be_visible()


def test_language_and_colours_follow_the_market_until_chosen(page: Any, world: World) -> None:
    expect = _expect()
    _member(world, "dora")
    _sign_in(page, "dora")
    us = page.locator(f"article[data-contest='{world.us_contest['id']}']")
    expect(us).to_contain_text("$1,000,000.00")
    us.locator("button[type=submit]").click()
    expect(page.locator(".ticket")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("body")).to_have_attribute("data-updown", "us")

    page.goto(f"/#/contests/{world.cn_contest['id']}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("body")).to_have_attribute("data-updown", "cn")
    expect(page.locator("h2").first).to_have_text("你还没有报名这场比赛")

    page.select_option("#lang", "en")  # an explicit choice wins over the market's default
    expect(page.locator("h2").first).to_have_text("You have not joined this contest")
    page.click("a[href='#/contests']")
    page.goto(f"/#/contests/{world.cn_contest['id']}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.select_option("#lang", "zh-CN")
    page.click("a[href='#/contests']")
    expect(page.locator("h1")).to_have_text("比赛大厅")
    expect(page.locator(f"article[data-contest='{world.cn_contest['id']}']")).to_contain_text(
        "¥1,000,000.00"
    )


def test_new_terms_send_a_member_to_accept_them_and_back(page: Any, world: World) -> None:
    """A write refused with consent_required opens the consent page; accepting the new terms
    returns the member to the page, where the write now goes through."""
    expect = _expect()
    _member(world, "tess")
    body = {"kind": "terms", "title": "Terms of use", "body": "Play fair.\nOne person, one entry."}
    ok(world.http.post("/v1/admin/consent-documents", json=body, headers=world.operator), 201)
    _sign_in(page, "tess")
    page.click("a[href='#/points']")
    page.click("#check-in")
    expect(page.locator("h1")).to_have_text("Terms and consents")
    expect(page.locator(".consent-text")).to_contain_text("One person, one entry.")
    shoot(page, "consent")
    page.click("button[data-kind=terms]")
    expect(page.locator("#points-balance")).to_be_visible()  # back on the points page
    page.click("#check-in")
    expect(page.locator("[data-streak='1']")).to_contain_text("1-day streak")
