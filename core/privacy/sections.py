"""The section registry: each package says what it stores about a member and how it treats it.

A ``Section`` names the tables (and the columns in them that point at a member) a package owns,
exports a member's rows from them, and erases: deletes what is personal, pseudonymises what
must stay, and keeps the facts that the ledger, a contest result or a chain anchor depend on,
each with its reason. The composition root (``api.privacy``) lists the sections; a table-coverage
test proves every column that refers to a user is declared by one of them or exempted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.users.model import UserId

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

JsonDict = dict[str, Any]


class Treatment(StrEnum):
    """What erasure does to a member's rows in one table."""

    DELETED = "deleted"  # personal data: the rows are removed
    PSEUDONYMISED = "pseudonymised"  # the row stays, its personal fields are replaced
    KEPT = "kept"  # a fact others depend on (ids only, no names): kept, with the reason


@dataclass(frozen=True, slots=True)
class TableUse:
    """One column of one table that refers to a member, and what erasure does to those rows."""

    table: str
    column: str
    treatment: Treatment
    reason: str


@dataclass(frozen=True, slots=True)
class Section:
    """A package's share of a member's data.

    ``export(session, user_id)`` returns JSON-able data (the section's rows about the member);
    ``erase(session, user_id)`` applies the ``tables`` treatments inside the caller's
    transaction and returns how many rows it changed per table. Both must be idempotent.
    """

    name: str
    tables: tuple[TableUse, ...]
    export: Callable[[Session, UserId], JsonDict]
    erase: Callable[[Session, UserId], Mapping[str, int]]


# Why an erasure must wait: ``(session, user_id) -> reason or None``.
ErasureBlocker = Callable[["Session", UserId], "str | None"]


def pseudonym(user_id: UserId) -> str:
    """The name an erased member is shown under (a valid username: 3-32 of a-z 0-9 - _ .)."""
    return f"erased-{user_id}"
