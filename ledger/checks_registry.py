"""The ledger's invariants for the check registry (``core.checks``).

``ledger_problems`` is the one adapter between the registry and the ledger's own checks: the
hash chain, stored balances against the replay of the transfers, and the trial balance. When the
ledger gains ``ledger.checks.run_checks(uow)``, its body becomes that call and nothing else here
changes. ``streak_problems`` proves each member's stored check-in streak equals the run of
consecutive check-in days the stored check-ins give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

from core.checks import Check, DatabaseContext
from core.users.store import UserRepository
from ledger import services
from ledger.services import LedgerUnitOfWork, TrialBalance
from ledger.store import EngagementRepository

MEMBERS_PER_READ = 1000
ONE_DAY = timedelta(days=1)


def ledger_problems(uow: LedgerUnitOfWork) -> list[str]:
    """The ledger's own checks, as problems (empty when sound)."""
    return [*services.verify(uow).errors, *trial_balance_problems(services.trial_balance(uow))]


def trial_balance_problems(trial: TrialBalance) -> list[str]:
    """Every asset whose posted or pending total over all stored balances is not zero."""
    return [
        f"asset {asset}: stored {kind} balances sum to {total}, not zero"
        for kind, totals in (("posted", trial.totals), ("pending", trial.pending_totals))
        for asset, total in sorted(totals.items())
        if total
    ]


def streak_problems(uow: LedgerUnitOfWork) -> list[str]:
    """Members whose latest stored check-in streak (the one the next check-in continues and
    the check-in answer showed) differs from the consecutive days of their stored check-ins."""
    with uow.reading(snapshot=True):
        last = uow.engagement.last_checkins(_member_ids(uow))
        runs = consecutive_days(
            uow.engagement, {m: date.fromisoformat(day) for m, (day, _) in last.items()}
        )
    return [
        f"member {member}: stored streak {streak} on {day}, the check-ins give {runs[member]}"
        for member, (day, streak) in sorted(last.items())
        if streak != runs[member]
    ]


def consecutive_days(repo: EngagementRepository, last_day: Mapping[int, date]) -> dict[int, int]:
    """Per member, how many consecutive local days with a check-in end at ``last_day`` (its
    latest). One query per day walked back, for all the members still in a run that day."""
    runs = dict.fromkeys(last_day, 1)
    asking: defaultdict[date, list[int]] = defaultdict(list)  # day → members to ask about it
    for member, day in last_day.items():
        asking[day - ONE_DAY].append(member)
    while asking:
        day = max(asking)
        for member in repo.checked_in_on(day.isoformat(), asking.pop(day)):
            runs[member] += 1
            asking[day - ONE_DAY].append(member)
    return runs


def _member_ids(uow: LedgerUnitOfWork) -> list[int]:
    users, ids, after = UserRepository(uow.session), [], None
    while True:
        page, after = users.page(after=after, limit=MEMBERS_PER_READ)
        ids += [user.id for user in page]
        if after is None:
            return ids


def _ledger(context: DatabaseContext) -> list[str]:
    return ledger_problems(LedgerUnitOfWork(context.sessions))


def _streaks(context: DatabaseContext) -> list[str]:
    return streak_problems(LedgerUnitOfWork(context.sessions))


LEDGER_CHECK = "ledger.books"

CHECKS: list[Check[DatabaseContext]] = [
    Check(
        name=LEDGER_CHECK,
        package="ledger",
        description="the hash chain links, stored balances equal the replay of the transfers, "
        "every asset sums to zero",
        problems=_ledger,
    ),
    Check(
        name="ledger.streaks",
        package="ledger",
        description="each member's latest check-in streak equals its run of consecutive "
        "check-in days",
        problems=_streaks,
    ),
]
