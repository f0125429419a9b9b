"""The ledger's section of a member's data (PIPL export and erasure).

Nothing here is deleted or rewritten on erasure: transfers are append-only and hash-chained
(rewriting one breaks ``paperleague ledger verify``), balances derive from them, and both name
accounts (``member:<id>:points``), never names. Engagement records are the ledger's reasons
for those transfers. All of it stays with the pseudonymised id; all of it is exported.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

import ledger.store.balances  # noqa: F401 (the tables read below by name)
import ledger.store.engagement  # noqa: F401
import ledger.store.transfers  # noqa: F401
from core.privacy.sections import JsonDict, Section, TableUse, Treatment
from core.privacy.store import rows_of
from core.users.model import UserId
from ledger.model import inventory_account, points_account, xp_account

HASH_CHAIN = "append-only and hash-chained: rewriting it breaks ledger verify; names accounts"
ACCOUNTING = "the ledger's reason for the member's transfers; ids only"
OPERATOR = "which operator set a version (an id)"

# (table, member column) of the engagement records, exported as they are.
ENGAGEMENT = (
    ("ledger_checkins", "member_id"),
    ("ledger_task_completions", "member_id"),
    ("ledger_level_events", "member_id"),
    ("ledger_redemptions", "member_id"),
    ("ledger_referrals", "invitee_id"),
    ("ledger_referrals", "inviter_id"),
)


def member_accounts(user_id: UserId) -> list[str]:
    return [points_account(user_id), xp_account(user_id), inventory_account(user_id)]


def export_ledger(session: Session, user_id: UserId) -> JsonDict:
    """The member's balances, every transfer to or from their accounts, and the engagement
    records (check-ins, tasks, levels, redemptions, referrals)."""
    accounts = member_accounts(user_id)
    transfers = {
        row["seq"]: row
        for column in ("debit_account", "credit_account")
        for row in rows_of(session, "ledger_transfers", column, accounts)
    }
    data: JsonDict = {
        "accounts": accounts,
        "balances": rows_of(session, "ledger_balances", "account", accounts),
        "transfers": [transfers[seq] for seq in sorted(transfers)],
    }
    for table, column in ENGAGEMENT:
        key = table if table != "ledger_referrals" else f"{table}_as_{column.removesuffix('_id')}"
        data[key] = rows_of(session, table, column, [user_id])
    return data


def erase_ledger(session: Session, user_id: UserId) -> Mapping[str, int]:
    """Nothing to change: see the module docstring."""
    return {}


LEDGER_SECTION = Section(
    name="ledger",
    tables=(
        TableUse("ledger_transfers", "debit_account", Treatment.KEPT, HASH_CHAIN),
        TableUse("ledger_transfers", "credit_account", Treatment.KEPT, HASH_CHAIN),
        TableUse("ledger_balances", "account", Treatment.KEPT, "derived from the transfers"),
        TableUse("ledger_checkins", "member_id", Treatment.KEPT, ACCOUNTING),
        TableUse("ledger_task_completions", "member_id", Treatment.KEPT, ACCOUNTING),
        TableUse("ledger_level_events", "member_id", Treatment.KEPT, ACCOUNTING),
        TableUse("ledger_redemptions", "member_id", Treatment.KEPT, ACCOUNTING),
        TableUse("ledger_referrals", "invitee_id", Treatment.KEPT, ACCOUNTING),
        TableUse("ledger_referrals", "inviter_id", Treatment.KEPT, ACCOUNTING),
        TableUse("ledger_earning_rules", "created_by", Treatment.KEPT, OPERATOR),
        TableUse("ledger_level_tables", "created_by", Treatment.KEPT, OPERATOR),
    ),
    export=export_ledger,
    erase=erase_ledger,
)
