"""The quizzes' unit of work: the ledger's (prizes are paid through it) plus ``uow.quizzes``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ledger.quizzes.store import QuizzesRepository
from ledger.services.unit_of_work import LedgerUnitOfWork


class QuizUnitOfWork(LedgerUnitOfWork):
    quizzes: QuizzesRepository

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.quizzes = QuizzesRepository(session)
