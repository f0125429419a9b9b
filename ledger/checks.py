"""The ledger's invariants in one place: ``run_checks(uow)`` lists every problem it finds.

- The hash chain links, every transfer matches its hash, the head is the chain's end.
- Every stored balance equals the replay of the transfers; none is below its floor.
- The trial balance is zero: the replayed totals per asset and the stored posted and pending
  totals (every transfer debits what it credits).
- Every check-in's streak is the one its member's check-in history gives.

Each part reads its own snapshot (``verify`` the chain and balances, then the stored trial
balance, then the check-ins), so a ledger written to meanwhile may show a passing difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.earning import next_streak
from ledger.services.balances import TrialBalance, trial_balance
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.services.verification import verify


def run_checks(uow: LedgerUnitOfWork, *, max_problems: int = 100) -> list[str]:
    """Every broken invariant as a sentence, at most ``max_problems``; empty when all hold."""
    problems = books_problems(uow, max_problems=max_problems) + streak_history_problems(uow)
    return problems[:max_problems]


def books_problems(uow: LedgerUnitOfWork, *, max_problems: int = 100) -> list[str]:
    """The hash chain, stored balances against the replay, and the stored trial balance."""
    problems = list(verify(uow, max_errors=max_problems).errors)
    return problems + trial_balance_problems(trial_balance(uow))


def trial_balance_problems(trial: TrialBalance) -> list[str]:
    """Every asset whose stored posted or pending balances do not sum to zero."""
    return [
        f"stored {kind}balances of {asset} sum to {total}, not zero"
        for kind, totals in (("", trial.totals), ("pending ", trial.pending_totals))
        for asset, total in sorted(totals.items())
        if total
    ]


def streak_history_problems(uow: LedgerUnitOfWork) -> list[str]:
    """Every check-in whose stored streak differs from its member's check-in history."""
    with uow.reading(snapshot=True):
        return streak_problems(uow.engagement.checkin_streaks())


def streak_problems(checkins: Iterable[tuple[int, str, int]]) -> list[str]:
    """Check-ins (member id, ISO local date, streak), by member and date, whose streak is not
    what the member's previous check-in gives (the day after continues it, a gap resets it)."""
    problems: list[str] = []
    previous: tuple[int, date, int] | None = None
    for member, local_date, streak in checkins:
        day = date.fromisoformat(local_date)
        if previous is not None and previous[0] == member:
            expected = next_streak(previous[1], previous[2], day)
        else:
            expected = next_streak(None, 0, day)
        if streak != expected:
            problems.append(
                f"check-in of member {member} on {local_date}: streak {streak}, "
                f"its history gives {expected}"
            )
        previous = (member, day, streak)
    return problems
