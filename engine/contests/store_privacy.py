"""The engine's section of a member's data (PIPL export and erasure), and what blocks erasure.

Contest entries, orders, fills, positions, equity, corporate actions applied, standings, teams
and prizes are contest results other members were ranked against and prizes were paid from:
they stay, under the pseudonymised id (they hold ids, never names; leaderboards then show the
pseudonym). Follows are the member's own social graph: deleted.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import delete_rows, rows_of
from core.users.model import UserId
from engine.contests.store import FollowRow, PrizeRow
from engine.trading.store import AccountRow, ContestRow

RESULT = "a contest result others were ranked against; ids only, shown under the pseudonym"
ACCOUNT_BOOKS = "the books of the member's contest accounts (account ids, no names)"

# (table, column, key): rows whose column holds one of the member's contest account ids.
ACCOUNT_TABLES = (
    ("orders", "account_id"),
    ("fills", "account_id"),
    ("positions", "account_id"),
    ("equity_history", "account_id"),
    ("corporate_action_applications", "account_id"),
)
MEMBER_TABLES = (
    ("leaderboard_snapshots", "member_id"),
    ("team_members", "member_id"),
    ("contest_prizes", "member_id"),
)


def _account_ids(session: Session, user_id: UserId) -> list[int]:
    stmt = select(AccountRow.id).where(AccountRow.member_id == user_id).order_by(AccountRow.id)
    return list(session.scalars(stmt))


def export_engine(session: Session, user_id: UserId) -> JsonDict:
    """The member's contest accounts and their books, standings, teams, prizes and follows."""
    accounts = _account_ids(session, user_id)
    data: JsonDict = {
        "trading_accounts": rows_of(session, "trading_accounts", "member_id", [user_id]),
    }
    data |= {table: rows_of(session, table, column, accounts) for table, column in ACCOUNT_TABLES}
    data |= {table: rows_of(session, table, column, [user_id]) for table, column in MEMBER_TABLES}
    data["teams_captained"] = rows_of(session, "teams", "captain_id", [user_id])
    data["follows"] = rows_of(session, "follows", "follower_id", [user_id])
    data["followers"] = len(rows_of(session, "follows", "followee_id", [user_id]))
    data["seasons_created"] = [
        row["id"] for row in rows_of(session, "seasons", "created_by", [user_id])
    ]
    return data


def erase_engine(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Deletes the member's follows, both ways; keeps the results (module docstring)."""
    return {
        "follows": delete_rows(session, "follows", "follower_id", [user_id])
        + delete_rows(session, "follows", "followee_id", [user_id])
    }


def erasure_blockers(session: Session, user_id: UserId) -> str | None:
    """Why the member cannot be erased yet: an entry in an unsettled contest (its standings
    and prizes are still being decided), or a prize not yet paid."""
    live = list(
        session.scalars(
            select(ContestRow.id)
            .join(AccountRow, AccountRow.contest_id == ContestRow.id)
            .where(AccountRow.member_id == user_id, ContestRow.settled_at.is_(None))
            .order_by(ContestRow.id)
        )
    )
    unpaid = list(
        session.scalars(
            select(PrizeRow.contest_id)
            .where(PrizeRow.member_id == user_id, PrizeRow.paid_at.is_(None))
            .distinct()
            .order_by(PrizeRow.contest_id)
        )
    )
    reasons = []
    if live:
        reasons.append("an entry in contests not settled yet: " + ", ".join(map(str, live)))
    if unpaid:
        reasons.append("prizes not paid yet in contests: " + ", ".join(map(str, unpaid)))
    return "; ".join(reasons) or None


ENGINE_SECTION = Section(
    name="contests",
    tables=(
        TableUse("trading_accounts", "member_id", Treatment.KEPT, RESULT),
        *(TableUse(t, c, Treatment.KEPT, ACCOUNT_BOOKS) for t, c in ACCOUNT_TABLES),
        *(TableUse(t, c, Treatment.KEPT, RESULT) for t, c in MEMBER_TABLES),
        TableUse("teams", "captain_id", Treatment.KEPT, "the team stays for its other members"),
        TableUse("follows", "follower_id", Treatment.DELETED, "the member's own social graph"),
        TableUse("follows", "followee_id", Treatment.DELETED, "others' follows of the member"),
        TableUse("seasons", "created_by", Treatment.KEPT, "which operator made it (an id)"),
    ),
    export=export_engine,
    erase=erase_engine,
)

_MAPPED = (FollowRow,)
