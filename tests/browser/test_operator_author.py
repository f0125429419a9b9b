"""Operators and authors in a real browser: an operator creates a contest through the form and
finds its game settings locked once the clock starts, settles nothing early, and checks the
ledger; an author registers a piece, downloads its certificate once anchored, and the public
verify page accepts it (and refuses other content)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.users import services as users
from core.users.model import Role
from core.users.services import NewAccount, UsersUnitOfWork
from tests.browser.conftest import DESKTOP, LiveApp, shoot
from tests.browser.world import PASSWORD, World, ok
from tests.contest_builders import DISCLOSURES_JSON

pytestmark = pytest.mark.browser
NOTE = "Foundry capex is underrated: pricing, share and yield all point the same way."


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _sign_in(page: Any, username: str, next_path: str) -> None:
    page.goto(f"/#/login?next={next_path}")
    page.fill("[name=username]", username)
    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_operator_creates_a_contest_and_its_game_fields_lock(page: Any, world: World) -> None:
    expect = _expect()
    page.context.add_init_script("localStorage.setItem('paperleague.locale', 'en')")
    _sign_in(page, "operator", "/admin")
    desk = page.locator("tr[data-contest]")
    expect(desk).to_have_count(3)
    expect(page.locator(".chart-box canvas")).to_be_visible()
    shoot(page, "admin")

    page.click("a[href='#/admin/contests/new']")
    form = page.locator("form.contest-form")
    form.locator("[name=season_id]").select_option(str(world.cn_contest["season_id"]))
    form.locator("[name=title]").fill("Operator cup")
    form.locator("[name=trading_start]").fill(world.cn_contest["trading_start"])
    form.locator("[name=trading_end]").fill(world.cn_contest["trading_end"])
    form.locator("[name=capacity]").fill("50")
    form.locator("[name='metric.kind']").select_option("composite")
    form.locator("button[data-rows='metric.weights']").click()
    form.locator("[name='metric.weights[0].weight']").fill("0.5")  # must sum to 1
    form.locator("[name=save]").click()
    refusal = form.locator(".form-alert .problem")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("weights")

    form.locator("[name='metric.kind']").select_option("total_return")
    form.locator("button[data-rows=prizes]").click()
    form.locator("[name='prizes[0].to']").fill("3")
    form.locator("[name='prizes[0].points']").fill("100")
    form.locator("[name=save]").click()  # a public contest with prizes: disclosures first
    expect(refusal).to_contain_text("disclosures.organiser")
    for name, value in DISCLOSURES_JSON.items():
        if value:
            form.locator(f"[name='disclosures.{name}']").fill(value)
    form.locator("[name=save]").click()
    expect(page).to_have_url(re.compile(r"#/admin/contests/\d+$"))
    contest_id = int(page.url.rsplit("/", 1)[1])
    created = ok(world.http.get(f"/v1/admin/contests/{contest_id}", headers=world.operator))
    assert (created["title"], created["capacity"]) == ("Operator cup", 50)
    assert created["prizes"] == [
        {"ranks": [1, 3], "top_percent": None, "points": 100, "xp": 0, "item_key": None}
    ]
    form = page.locator("form.contest-form")
    expect(form.locator("fieldset[data-locked=true]")).to_have_count(0)
    expect(form.locator("[name='prizes[0].points']")).to_have_value("100")
    shoot(page, "admin-contest")

    page.click("#advance-clock")
    expect(page.locator("#contest-state")).to_have_text("Running")
    locked = form.locator("fieldset[data-locked=true]")
    expect(locked).to_have_count(5)  # the rules are locked and anchored: basics too
    expect(form.locator("[name=starting_cash]")).to_be_disabled()
    expect(form.locator("[name=title]")).to_be_disabled()
    expect(form.locator("[name=capacity]")).to_be_disabled()
    expect(form.locator("[name=invite_code]")).to_be_enabled()  # secret, so not in the rules
    expect(locked.first.locator(".lock-note")).to_be_visible()
    shoot(page, "admin-contest-locked")
    expect(page.locator("#settle")).to_be_disabled()  # not finished yet

    page.goto("/#/admin/ledger")
    expect(page.locator("h1")).to_have_text("Ledger")
    page.click("#verify-ledger")
    expect(page.locator(".verify-result .notice.success")).to_be_visible()
    shoot(page, "admin-ledger")

    page.goto("/#/admin/audit")  # the contest and its clock above, each an audit entry
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator("tr[data-seq]").first).to_contain_text("contest.advance_clock")
    audit = page.locator("form.audit-form")
    audit.locator("[name=action]").fill("contest.create")
    audit.locator("[name=search]").click()
    newest = page.locator("tr[data-seq]").first
    expect(newest).to_contain_text("contest.create")
    expect(newest).to_contain_text('"title": "Operator cup"')  # the contest above, after
    page.click("#verify-audit")
    expect(page.locator(".verify-result .notice.success")).to_be_visible()
    shoot(page, "admin-audit")

    page.goto("/#/admin/engagement")
    reward = page.locator("form.reward-form")
    reward.locator("[name=key]").fill("mug")
    reward.locator("[name=name]").fill("League mug")
    reward.locator("[name=cost_points]").fill("50")
    reward.locator("[name=stock]").fill("10")
    reward.locator("button[type=submit]").click()
    expect(page.locator("tr[data-reward=mug]")).to_contain_text("League mug")
    shoot(page, "admin-engagement")


def test_author_registers_downloads_and_anyone_verifies(
    page: Any, chromium: Any, world: World, live_app: LiveApp, tmp_path: Path
) -> None:
    expect = _expect()
    users.create_users(
        UsersUnitOfWork(live_app.database.sessions),
        [NewAccount("author", "Author", roles=frozenset({Role.AUTHOR}))],
        password=PASSWORD,
    )
    page.context.add_init_script("localStorage.setItem('paperleague.locale', 'en')")
    _sign_in(page, "author", "/author")
    form = page.locator("form.register-form")
    form.locator("[name=title]").fill("Capex")
    form.locator("[name=text]").fill(NOTE)
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-result .notice.success")).to_be_visible()
    row = page.locator("tr[data-content]")
    expect(row).to_have_attribute("data-status", "pending")

    anchored = ok(world.http.post("/v1/admin/anchors", headers=world.operator))
    assert anchored["batch"]["count"] == 1
    page.click("#refresh-content")
    expect(row).not_to_have_attribute("data-status", "pending")
    shoot(page, "author")
    with page.expect_download() as download_info:
        row.locator("button.download").click()
    certificate = tmp_path / "certificate.json"
    download_info.value.save_as(certificate)
    content = tmp_path / "note.txt"
    content.write_text(NOTE, encoding="utf-8")
    forged = tmp_path / "forged.txt"
    forged.write_text(NOTE.replace("underrated", "overrated"), encoding="utf-8")

    # Anyone: a fresh browser, not signed in.
    stranger = chromium.new_context(viewport=DESKTOP, locale="en-US", base_url=world.url)
    visitor = stranger.new_page()
    try:
        visitor.goto("/#/verify")
        visitor.set_input_files("input[name=certificate]", str(certificate))
        visitor.set_input_files("input[name=content]", str(forged))
        visitor.click("form.verify-form button[type=submit]")
        expect(visitor.locator("#verdict")).to_have_attribute("data-valid", "false")
        visitor.set_input_files("input[name=content]", str(content))
        visitor.click("form.verify-form button[type=submit]")
        expect(visitor.locator("#verdict")).to_have_attribute("data-valid", "true")
        expect(visitor.locator("tr[data-status=failed]")).to_have_count(0)
        shoot(visitor, "verify")
    finally:
        stranger.close()
