"""The newer pages in a real browser: a member takes a scheduled quiz a question at a time to
its score, review and (once closed) leaderboard; an operator registers a webhook endpoint,
finds one delivered and one failed delivery, reads the failure's attempts and retries it; and
the operator's analytics draws non-empty charts, shows a bad date window's refusal, and reads
in both locales. No console error in any of them (a 4xx the page expects aside)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.outbox import RetryPolicy
from core.outbox_store import record_event
from core.webhooks import WebhooksUnitOfWork, dispatch_once
from tests.browser.conftest import LiveApp, shoot
from tests.browser.world import PASSWORD, World, ok
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.browser
BARE = pytest.mark.parametrize("world", ["bare"], indirect=True)  # users only: no contests

# Chromium logs every 4xx a fetch gets as a console error; the pages expect some (a 404 for
# "no attempt yet", the 422 a bad window gets), so only those are let through.
EXPECTED_4XX = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def console(page: Any) -> Iterator[list[str]]:
    """Every console error and every 5xx answer while the test runs; asserted empty after."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: (
            seen.append(m.text) if m.type == "error" and not EXPECTED_4XX.search(m.text) else None
        ),
    )
    page.on(
        "response",
        lambda r: seen.append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    yield seen
    assert not seen, f"console errors or 5xx answers: {seen}"


def _sign_in(page: Any, username: str, next_path: str, lang: str = "en") -> None:
    page.context.add_init_script(f"localStorage.setItem('paperleague.locale', '{lang}')")
    page.goto(f"/#/login?next={next_path}")
    page.fill("[name=username]", username)
    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _quiz(world: World, *, seconds_open: float) -> tuple[int, datetime]:
    questions = [
        {
            "kind": "single",
            "text": "Which index tracks Shanghai A-shares?",
            "options": ["SSE Composite", "Nikkei 225", "DAX"],
            "correct": [0],
            "explanation": "The SSE Composite covers Shanghai-listed shares.",
        },
        {
            "kind": "multiple",
            "text": "Which are US exchanges?",
            "options": ["NYSE", "Nasdaq", "SZSE"],
            "correct": [0, 1],
        },
    ]
    ids = [
        ok(world.http.post("/v1/admin/quiz/questions", json=q, headers=world.operator), 201)["id"]
        for q in questions
    ]
    now = datetime.now(UTC)
    closes = now + timedelta(seconds=seconds_open)
    body = {
        "title": "Friday quiz",
        "opens_at": (now - timedelta(seconds=1)).isoformat(),
        "closes_at": closes.isoformat(),
        "seconds_per_question": 30,
        "question_ids": ids,
    }
    made = ok(world.http.post("/v1/admin/quiz/quizzes", json=body, headers=world.operator), 201)
    ok(world.http.post(f"/v1/admin/quiz/quizzes/{made['id']}/publish", headers=world.operator))
    return made["id"], closes


@BARE
def test_a_member_takes_a_quiz_to_its_result_and_leaderboard(
    page: Any, world: World, console: list[str]
) -> None:
    expect = _expect()
    quiz_id, closes = _quiz(world, seconds_open=12)
    _sign_in(page, "rival0", "/quizzes")
    row = page.locator(f"tr[data-quiz='{quiz_id}']")
    expect(row).to_have_attribute("data-phase", "open")
    row.locator("a").click()
    expect(page.locator("h1")).to_have_text("Friday quiz")
    page.click("#quiz-start")

    question = page.locator("form.quiz-question[data-position='0']")
    expect(question).to_contain_text("Which index tracks Shanghai A-shares?")
    countdown = question.locator(".quiz-countdown")
    expect(countdown).to_have_attribute("data-seconds", re.compile(r"\d+"))
    assert int(countdown.get_attribute("data-seconds")) > 20
    question.get_by_label("SSE Composite").check()
    question.locator("button[name=answer]").click()

    second = page.locator("form.quiz-question[data-position='1']")
    expect(second).to_contain_text("Which are US exchanges?")
    expect(second.locator("input[type=checkbox]")).to_have_count(3)
    second.get_by_label("NYSE").check()  # one of two: wrong
    second.locator("button[name=answer]").click()

    review = page.locator("ol.quiz-review li")
    expect(page.locator(".quiz-stage .notice.success")).to_contain_text("1 of 2")
    expect(review).to_have_count(2)
    expect(review.nth(0)).to_have_attribute("data-correct", "true")
    expect(review.nth(1)).to_have_attribute("data-correct", "false")
    expect(review.nth(0)).to_contain_text("The SSE Composite covers Shanghai-listed shares.")
    shoot(page, "quiz-result")

    # The page redraws itself once the quiz closes: the leaderboard joins the review.
    board = page.locator("section", has=page.get_by_role("heading", name="Results"))
    wait = (closes - datetime.now(UTC)).total_seconds() + 5
    expect(board.locator("tbody tr[data-me=true]")).to_contain_text("You", timeout=wait * 1000)
    expect(board.locator("tbody tr")).to_have_count(1)
    expect(review).to_have_count(2)
    shoot(page, "quiz-closed")
    page.goto("/#/quizzes")
    expect(page.locator(f"tr[data-quiz='{quiz_id}']")).to_have_attribute("data-phase", "closed")
    page.select_option("#lang", "zh-CN")
    expect(page.locator("h1")).not_to_have_text("Quizzes")
    shoot(page, "quizzes-zh")


@BARE
def test_operator_sees_deliveries_and_retries_the_failed_one(
    page: Any, world: World, live_app: LiveApp, console: list[str]
) -> None:
    expect = _expect()
    uow = WebhooksUnitOfWork(live_app.database.sessions)
    with receiver() as server:
        _sign_in(page, "operator", "/admin/webhooks")
        form = page.locator("form.webhook-form")
        form.locator("[name=url]").fill("ftp://example.com/hook")
        form.locator("button[name=create]").click()
        expect(form.locator(".form-alert .problem")).to_have_attribute("data-rule", "webhook_url")
        form.locator("[name=url]").fill(server.url)
        form.locator("button[name=create]").click()
        expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_"))
        expect(page.locator("tr[data-endpoint]")).to_have_count(1)
        expect(page.locator("tr[data-endpoint]")).to_contain_text(server.url)

        def event(key: str) -> None:
            with uow:
                record_event(uow.session, "prize.paid", {"award_id": key}, f"prize.paid:{key}")
                uow.commit()
            dispatch_once(uow, policy=RetryPolicy(max_attempts=1))

        event("a")  # answered 200
        server.status = 503
        event("b")  # answered 503, no attempts left: failed
        page.reload()
        rows = page.locator("tr[data-delivery]")
        expect(rows).to_have_count(2)
        delivered = page.locator("tr[data-status=delivered]")
        failed = page.locator("tr[data-status=failed]")
        expect(delivered).to_have_count(1)
        expect(failed).to_contain_text("HTTP 503")
        expect(delivered.locator("button[name=retry]")).to_have_count(0)
        failed.locator("button[name=attempts]").click()
        expect(failed.locator(".delivery-attempts li")).to_contain_text("HTTP 503")

        page.locator("[name=status]").select_option("failed")
        expect(rows).to_have_count(1)
        shoot(page, "admin-webhooks")
        server.status = 200
        rows.first.locator("button[name=retry]").click()
        expect(page.locator(".webhook-deliveries .empty")).to_be_visible()  # none failed now
        page.locator("[name=status]").select_option("")
        expect(page.locator("tr[data-status=pending]")).to_have_count(1)
        dispatch_once(uow, policy=RetryPolicy(max_attempts=1))
        page.locator("[name=status]").select_option("delivered")
        expect(page.locator("tr[data-status=delivered]")).to_have_count(2)
        assert len(server.received) == 3

        page.locator("tr[data-endpoint] button[name=toggle]").click()
        expect(page.locator("tr[data-endpoint]")).to_contain_text("Paused")
        page.select_option("#lang", "zh-CN")
        expect(page.locator("tr[data-endpoint]")).to_contain_text("已暂停")
        expect(page.locator("tr[data-status=delivered]").first).to_contain_text("已送达")
        shoot(page, "admin-webhooks-zh")
    made = ok(world.http.get("/v1/admin/webhooks", headers=world.operator))
    assert [e["active"] for e in made] == [False]


def test_analytics_draws_charts_and_shows_a_bad_window(
    page: Any, world: World, console: list[str]
) -> None:
    expect = _expect()
    world.advance(world.cn_contest["id"])
    world.rivals_trade()
    ok(world.http.post("/v1/me/check-ins", headers=world.rivals[0]), 201)
    ok(world.http.post("/v1/me/check-ins", headers=world.rivals[1]), 201)
    _sign_in(page, "operator", "/admin/analytics")
    expect(page.locator("h1")).to_have_text("Analytics")
    expect(page.locator("[data-kpi=members] dd")).to_have_text("5")
    expect(page.locator("[data-kpi=active] dd")).not_to_have_text("0")
    canvases = page.locator(".analytics-figures .chart-box canvas")
    expect(canvases).to_have_count(2)
    # Chart.js has drawn both: each canvas was registered and sized.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.analytics-figures canvas')]"
        ".every((c) => window.Chart.getChart(c) && c.width > 0)"
    )
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('.analytics-figures canvas')]"
        ".map((c) => window.Chart.getChart(c).data.datasets.flatMap((d) => d.data)"
        ".reduce((a, b) => a + b, 0))"
    )
    assert all(total > 0 for total in drawn), drawn
    expect(page.locator("tr[data-stage=joined_contest]")).to_contain_text("4")
    expect(page.locator("tr[data-cohort]")).to_have_count(1)
    shoot(page, "admin-analytics")

    form = page.locator("form.analytics-form")
    form.locator("[name=from]").fill("2026-02-01")
    form.locator("[name=to]").fill("2026-01-01")
    form.locator("button[name=show]").click()
    refusal = form.locator(".form-alert .problem")
    expect(refusal).to_have_attribute("data-rule", "ordered_window")
    expect(refusal).not_to_be_empty()
    expect(form.locator("[name=from]")).to_have_attribute("aria-invalid", "true")
    expect(canvases).to_have_count(2)  # the figures before the refusal stay

    page.select_option("#lang", "zh-CN")
    expect(page.locator("h1")).not_to_have_text("Analytics")
    expect(page.locator(".analytics-figures .chart-box canvas")).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.analytics-figures canvas')]"
        ".every((c) => window.Chart.getChart(c))"
    )
    shoot(page, "admin-analytics-zh")
