"""``ledger.checks.run_checks``: every ledger invariant at once, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core.db import Database
from core.users.model import Role, User
from ledger import engagement, services
from ledger.checks import run_checks, streak_problems
from ledger.model import ISSUANCE, POINTS, REDEEMED, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork

T0 = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


def _activity(uow: LedgerUnitOfWork, member: User) -> None:
    account = points_account(member.id)
    services.transfer(uow, TransferRequest("g1", ISSUANCE, account, POINTS, 100, "grant"), now=T0)
    services.transfer(
        uow,
        TransferRequest("h1", account, REDEEMED, POINTS, 30, "hold", pending=True),
        now=T0,
    )
    for day in range(3):
        engagement.check_in(uow, member.id, now=T0 + timedelta(days=day))
    engagement.check_in(uow, member.id, now=T0 + timedelta(days=5))


def test_a_sound_ledger_has_no_problems(
    ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    _activity(ledger_uow, make_user(Role.MEMBER))
    assert run_checks(ledger_uow) == []


def test_a_tampered_balance_and_streak_are_reported(
    database: Database, ledger_uow: LedgerUnitOfWork, make_user: Callable[..., User]
) -> None:
    member = make_user(Role.MEMBER)
    _activity(ledger_uow, member)
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE ledger_balances SET credits_posted = credits_posted + 5 WHERE account = :a"
            ),
            {"a": points_account(member.id)},
        )
        connection.execute(
            text("UPDATE ledger_checkins SET streak = 9 WHERE member_id = :m AND streak = 2"),
            {"m": member.id},
        )
    problems = run_checks(ledger_uow)
    assert any(
        p.startswith(f"balance {points_account(member.id)} POINTS: stored") for p in problems
    )
    assert "stored balances of POINTS sum to 5, not zero" in problems
    assert any(f"check-in of member {member.id}" in p and "streak 9" in p for p in problems)


def test_streaks_follow_the_check_in_history() -> None:
    history = [
        (1, "2026-03-01", 1),
        (1, "2026-03-02", 2),
        (1, "2026-03-04", 1),
        (1, "2026-03-05", 3),
        (2, "2026-03-05", 1),
        (2, "2026-03-06", 1),
    ]
    assert streak_problems(history) == [
        "check-in of member 1 on 2026-03-05: streak 3, its history gives 2",
        "check-in of member 2 on 2026-03-06: streak 1, its history gives 2",
    ]
