"""The quizzes' section of a member's data (PIPL export and erasure).

A member's attempts, answers and quiz prizes are results others were ranked against and the
reasons for prizes paid in the ledger: they stay under the pseudonymised id (ids only, no names)
and are exported. Question banks and quizzes name their operator by id.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

import ledger.quizzes.store  # noqa: F401 (the tables read below by name)
from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId

RESULT = "a quiz result others were ranked against, and a prize's reason; ids only"
OPERATOR = "which operator wrote it (an id)"


def export_quizzes(session: Session, user_id: UserId) -> JsonDict:
    """The member's quiz attempts with their answers, and their quiz prizes."""
    attempts = rows_of(session, "quiz_attempts", "member_id", [user_id])
    return {
        "attempts": attempts,
        "answers": rows_of(session, "quiz_answers", "attempt_id", [a["id"] for a in attempts]),
        "prizes": rows_of(session, "quiz_prizes", "member_id", [user_id]),
    }


def erase_quizzes(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Nothing to change: see the module docstring."""
    return {}


QUIZ_SECTION = Section(
    name="quizzes",
    tables=(
        TableUse("quiz_attempts", "member_id", Treatment.KEPT, RESULT),
        TableUse("quiz_prizes", "member_id", Treatment.KEPT, RESULT),
        TableUse("quiz_questions", "created_by", Treatment.KEPT, OPERATOR),
        TableUse("quizzes", "created_by", Treatment.KEPT, OPERATOR),
    ),
    export=export_quizzes,
    erase=erase_quizzes,
)
