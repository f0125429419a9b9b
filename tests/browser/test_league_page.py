"""The League page in a real browser: the member's cohort with the promotion zone coloured, the
tier badge and days left, a time zone refused on its field's rule and then saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import shoot
from tests.browser.world import PASSWORD, World, ok

pytestmark = pytest.mark.browser


def test_league_cohort_zones_and_time_zone(page: Any, world: World) -> None:
    from playwright.sync_api import expect

    body = {"username": "lena", "password": PASSWORD, "display_name": "Lena"}
    ok(world.http.post("/v1/auth/signup", json=body), 201)
    ok(world.http.post("/v1/admin/leagues/weeks", headers=world.operator), 201)
    page.goto("/#/login")
    page.fill("[name=username]", "lena")
    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("a[href='#/league']")
    expect(page.locator("#league-tier").first).to_have_text("Bronze")
    expect(page.locator("tr.me")).to_be_visible()
    expect(page.locator("tr.zone-promotion").first).to_be_visible()  # the top of the cohort
    page.fill("[name=time_zone]", "Moon/Base")
    page.click("#save-time-zone")
    expect(page.locator(".problem[data-rule=iana_time_zone]")).to_be_visible()
    page.fill("[name=time_zone]", "Europe/London")
    page.click("#save-time-zone")
    expect(page.get_by_text("Saved: Europe/London")).to_be_visible()
    expect(page.get_by_text("No closed week yet.")).to_be_visible()
    shoot(page, "league")
