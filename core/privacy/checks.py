"""The privacy invariant for the check registry (``core.checks``): erasures stay done."""

from __future__ import annotations

from collections.abc import Sequence

from core.checks import Check, DatabaseContext
from core.privacy.sections import Section
from core.privacy.store import erasure_problems

ERASURES_CHECK = "privacy.erasures"


def checks(sections: Sequence[Section]) -> list[Check[DatabaseContext]]:
    """The check over ``sections`` (the composition root passes every package's)."""

    def problems(context: DatabaseContext) -> list[str]:
        with context.sessions() as session:
            return erasure_problems(session, sections)

    return [
        Check(
            name=ERASURES_CHECK,
            package="core",
            description="every erased member is erased-<id> and disabled, with no rows left in "
            "the tables erasure deletes",
            problems=problems,
        )
    ]
