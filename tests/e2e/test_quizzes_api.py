"""Quizzes over HTTP: an operator builds a bank and schedules a short quiz, members take it on
the server's clock, see their review only once finished, and settlement pays once; the
unhappy paths answer problem+json naming the field and the rule."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from core.users.model import Role, User

PROBLEM = "application/problem+json"
Headers = dict[str, str]


def _problem(response: Any, status: int, field: str, rule: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert (body["field"], body["rule"]) == (field, rule), body


def _question(client: TestClient, operator: Headers, **overrides: Any) -> Any:
    body = {
        "kind": "single",
        "text": "Which index tracks Shanghai A-shares?",
        "options": ["SSE Composite", "Nikkei 225", "DAX"],
        "correct": [0],
        "explanation": "The SSE Composite covers Shanghai-listed shares.",
        "tags": ["indices"],
    } | overrides
    return client.post("/v1/admin/quiz/questions", json=body, headers=operator)


def _quiz_body(question_ids: list[int], *, opens: datetime, closes: datetime) -> dict[str, Any]:
    return {
        "title": "Friday quiz",
        "opens_at": opens.isoformat(),
        "closes_at": closes.isoformat(),
        "seconds_per_question": 1,
        "question_ids": question_ids,
        "reward_tiers": [{"basis": "rank", "low": 1, "high": 1, "points": 200, "xp": 20}],
    }


def test_bank_refuses_broken_questions_and_pages(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    _problem(_question(client, operator, options=["only"]), 422, "options", "min_items")
    _problem(_question(client, operator, correct=[0, 1]), 422, "correct", "single_correct")
    _problem(_question(client, operator, correct=[7]), 422, "correct", "known_option")
    member = login(make_user())
    assert _question(client, member).status_code == 403
    ids = [_question(client, operator, text=f"Q{i}?").json()["id"] for i in range(3)]
    first = client.get("/v1/admin/quiz/questions?limit=2", headers=operator).json()
    assert [q["id"] for q in first["items"]] == ids[:2] and first["next_cursor"]
    rest = client.get(
        f"/v1/admin/quiz/questions?limit=2&cursor={first['next_cursor']}", headers=operator
    ).json()
    assert [q["id"] for q in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    edited = client.put(
        f"/v1/admin/quiz/questions/{ids[0]}",
        json={
            "kind": "multiple",
            "text": "Pick two",
            "options": ["a", "b", "c"],
            "correct": [0, 2],
        },
        headers=operator,
    )
    assert edited.status_code == 200 and edited.json()["correct_options"] == [0, 2]
    assert client.delete(f"/v1/admin/quiz/questions/{ids[1]}", headers=operator).status_code == 204
    gone = client.get(f"/v1/admin/quiz/questions/{ids[1]}", headers=operator)
    assert gone.status_code == 404 and gone.headers["content-type"].startswith(PROBLEM)


def test_a_member_takes_a_quiz_and_settlement_pays_once(
    client: TestClient, make_user: Callable[..., User], login: Callable[[User], Headers]
) -> None:
    operator = login(make_user(Role.OPERATOR))
    ids = [_question(client, operator).json()["id"] for _ in range(2)]
    now = datetime.now(UTC)
    closes = now + timedelta(seconds=12)  # room for a loaded machine before the late answer
    made = client.post(
        "/v1/admin/quiz/quizzes",
        json=_quiz_body(ids, opens=now - timedelta(seconds=1), closes=closes),
        headers=operator,
    )
    assert made.status_code == 201, made.text
    quiz_id = made.json()["id"]
    alice_user, bob_user = make_user(), make_user()
    alice, bob = login(alice_user), login(bob_user)
    assert client.get(f"/v1/quizzes/{quiz_id}", headers=alice).status_code == 404  # a draft
    assert (
        client.post(f"/v1/admin/quiz/quizzes/{quiz_id}/publish", headers=operator).status_code
        == 200
    )
    _problem(
        client.put(
            f"/v1/admin/quiz/quizzes/{quiz_id}",
            json=_quiz_body(ids, opens=now, closes=closes),
            headers=operator,
        ),
        409,
        "quiz_id",
        "quiz_opened",
    )
    shown = client.get(f"/v1/quizzes/{quiz_id}", headers=alice).json()
    assert shown["question_count"] == 2 and "questions" not in shown

    assert client.post(f"/v1/quizzes/{quiz_id}/attempt", headers=alice).status_code == 201
    _problem(
        client.post(f"/v1/quizzes/{quiz_id}/attempt", headers=alice), 409, "quiz_id", "one_attempt"
    )
    served = client.get(f"/v1/quizzes/{quiz_id}/attempt/question", headers=alice).json()
    assert served["position"] == 0 and served["options"][0] == "SSE Composite"
    assert "correct_options" not in served and "explanation" not in served
    _problem(
        client.post(
            f"/v1/quizzes/{quiz_id}/attempt/answers",
            json={"position": 1, "selected": [0]},
            headers=alice,
        ),
        409,
        "position",
        "not_served",
    )
    ok = client.post(
        f"/v1/quizzes/{quiz_id}/attempt/answers",
        json={"position": 0, "selected": [0]},
        headers=alice,
    )
    assert ok.status_code == 200 and ok.json() == {
        "position": 0,
        "on_time": True,
        "finished": False,
    }
    during = client.get(f"/v1/quizzes/{quiz_id}/attempt", headers=alice).json()
    assert during["review"] == [] and during["score"] is None
    client.get(f"/v1/quizzes/{quiz_id}/attempt/question", headers=alice)
    time.sleep(1.1)  # past the 1-second deadline: the right answer counts as wrong
    late = client.post(
        f"/v1/quizzes/{quiz_id}/attempt/answers",
        json={"position": 1, "selected": [0]},
        headers=alice,
    ).json()
    assert late == {"position": 1, "on_time": False, "finished": True}
    review = client.get(f"/v1/quizzes/{quiz_id}/attempt", headers=alice).json()
    assert [r["is_correct"] for r in review["review"]] == [True, False]
    assert review["review"][0]["correct_options"] == [0]
    assert review["review"][0]["explanation"].startswith("The SSE Composite")
    assert review["score"]["correct_answers"] == 1

    assert client.post(f"/v1/quizzes/{quiz_id}/attempt", headers=bob).status_code == 201
    _problem(
        client.post(f"/v1/admin/quiz/quizzes/{quiz_id}/settlement", headers=operator),
        409,
        "quiz_id",
        "quiz_not_closed",
    )
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.05)
    _problem(
        client.get(f"/v1/quizzes/{quiz_id}/attempt/question", headers=bob),
        409,
        "quiz_id",
        "quiz_closed",
    )
    board = client.get(f"/v1/quizzes/{quiz_id}/leaderboard", headers=bob).json()["items"]
    assert [(p["member_id"], p["rank"]) for p in board] == [(alice_user.id, 1), (bob_user.id, 2)]
    first = client.post(f"/v1/admin/quiz/quizzes/{quiz_id}/settlement", headers=operator).json()
    again = client.post(f"/v1/admin/quiz/quizzes/{quiz_id}/settlement", headers=operator).json()
    assert (first["paid_now"], again["paid_now"], again["already_paid"]) == (1, 0, 1)
    assert first["settled"] and first["prizes"][0]["member_id"] == alice_user.id
    points = client.get("/v1/me/points", headers=alice).json()
    assert (points["balance"], points["lifetime_xp"]) == (200, 20)
    assert client.get("/v1/me/points", headers=bob).json()["balance"] == 0
