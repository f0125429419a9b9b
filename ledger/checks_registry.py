"""The ledger's invariants for the check registry (``core.checks``): its books (hash chain,
balances against the replay of the transfers, trial balance) and check-in streaks against the
check-in history, both from ``ledger.checks``."""

from __future__ import annotations

from core.checks import Check, DatabaseContext
from ledger import checks
from ledger.campaigns import checks as campaign_checks
from ledger.campaigns.uow import CampaignUnitOfWork
from ledger.quizzes import checks as quiz_checks
from ledger.quizzes.uow import QuizUnitOfWork
from ledger.services import LedgerUnitOfWork


def _ledger(context: DatabaseContext) -> list[str]:
    return checks.books_problems(LedgerUnitOfWork(context.sessions))


def _streaks(context: DatabaseContext) -> list[str]:
    return checks.streak_history_problems(LedgerUnitOfWork(context.sessions))


def _quiz_attempts(context: DatabaseContext) -> list[str]:
    return quiz_checks.attempt_problems(QuizUnitOfWork(context.sessions))


def _campaign_budgets(context: DatabaseContext) -> list[str]:
    return campaign_checks.budget_problems(CampaignUnitOfWork(context.sessions))


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
        description="every check-in's streak is the one its member's check-in history gives",
        problems=_streaks,
    ),
    Check(
        name="ledger.quiz_attempts",
        package="ledger",
        description="every quiz attempt's position, finish and answer flags are those its "
        "recorded answers and the quiz's questions give",
        problems=_quiz_attempts,
    ),
    Check(
        name="ledger.campaign_budgets",
        package="ledger",
        description="every campaign's remaining budget is its budget less its grants, and the "
        "ledger paid exactly what its grants took",
        problems=_campaign_budgets,
    ),
]
