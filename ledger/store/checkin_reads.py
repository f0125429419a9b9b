"""The reads of a batch of check-ins folded into two statements (issue 17): the programme in
force (the latest level table and earning rules, one ``UNION ALL``), and the batch's check-ins
(those its operation ids made before, and each member's latest, one ``UNION ALL``). Each pair
was two round trips; a served check-in batch reads both under the ledger lock it holds, so the
state they see is the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import CompoundSelect, String, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from ledger.store.engagement import CheckInRow, EarningRulesRow, LevelTableRow

MAX_MEMBERS_AT_ONCE = 500  # as ``EngagementRepository.last_checkins`` chunks its members


class Version(NamedTuple):
    """A published version of the level table or of the earning rules: its number and JSON."""

    version: int
    body: Any


class Programme(NamedTuple):
    """The latest version of each (``None``: nothing published, the defaults apply)."""

    levels: Version | None
    rules: Version | None


class StoredCheckIn(NamedTuple):
    """A stored check-in as plain columns (``CheckInRow``'s)."""

    member_id: int
    local_date: str
    streak: int
    points: int
    xp: int
    created_at: datetime
    operation_id: str | None


class BatchCheckIns(NamedTuple):
    """What a batch of check-ins reads: the check-ins made before by its operation ids (by
    operation id), and each member's latest check-in as (local date, streak)."""

    by_operation: dict[str, StoredCheckIn]
    latest: dict[int, tuple[str, int]]


def latest_programme(session: Session) -> Programme:
    """The latest level table and earning rules, in one statement."""
    found: dict[str, Version] = {}
    for row in session.execute(_programme_statement()):
        found[row.part] = Version(row.version, row.body)
    return Programme(found.get("levels"), found.get("rules"))


def batch_checkins(
    session: Session, member_ids: Sequence[int], operation_ids: Sequence[str]
) -> BatchCheckIns:
    """The check-ins ``operation_ids`` made (any member's: the caller matches them) and the
    latest check-in of each of ``member_ids``: one statement for a batch of up to
    ``MAX_MEMBERS_AT_ONCE`` members (a served one), one per chunk of members beyond."""
    members, operations = list(dict.fromkeys(member_ids)), list(dict.fromkeys(operation_ids))
    result = BatchCheckIns({}, {})
    step = MAX_MEMBERS_AT_ONCE
    chunks = [members[i : i + step] for i in range(0, len(members), step)] or [[]]
    for index, chunk in enumerate(chunks):
        asked = operations if index == 0 else []  # the operations go with the first chunk
        if not chunk and not asked:
            continue
        statement = _checkins_statement(bool(chunk), bool(asked))
        for row in session.execute(statement, {"members": chunk, "operations": asked}):
            stored = StoredCheckIn(*(getattr(row, name) for name in StoredCheckIn._fields))
            if row.part == "operation" and stored.operation_id is not None:
                result.by_operation[stored.operation_id] = stored
            elif row.part == "latest":
                result.latest[stored.member_id] = (stored.local_date, stored.streak)
    return result


@cache
def _programme_statement() -> CompoundSelect:
    def latest(part: str, version: Any, body: Any) -> Any:
        newest = (
            select(
                literal(part, String).label("part"), version.label("version"), body.label("body")
            )
            .order_by(version.desc())
            .limit(1)
            .subquery()
        )
        return select(newest)

    return union_all(
        latest("levels", LevelTableRow.version, LevelTableRow.levels),
        latest("rules", EarningRulesRow.version, EarningRulesRow.rules),
    )


@cache
def _checkins_statement(members: bool, operations: bool) -> Any:
    columns = [getattr(CheckInRow, name) for name in StoredCheckIn._fields]
    parts = []
    if operations:
        parts.append(
            select(literal("operation", String).label("part"), *columns).where(
                CheckInRow.operation_id.in_(bindparam("operations", expanding=True))
            )
        )
    if members:
        newest = (
            select(CheckInRow.member_id, func.max(CheckInRow.local_date).label("local_date"))
            .where(CheckInRow.member_id.in_(bindparam("members", expanding=True)))
            .group_by(CheckInRow.member_id)
            .subquery()
        )
        parts.append(
            select(literal("latest", String).label("part"), *columns).join(
                newest,
                (CheckInRow.member_id == newest.c.member_id)
                & (CheckInRow.local_date == newest.c.local_date),
            )
        )
    return parts[0] if len(parts) == 1 else union_all(*parts)
