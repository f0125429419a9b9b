"""What the behavioural tags are derived from: join dates, the last check-in and order, recent
order counts and XP, one grouped query each over every active member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.segments.model import Activity
from core.users.store import UserRow
from engine.trading.store import AccountRow, OrderRow
from ledger.model import XP
from ledger.store.balances import BalanceRow
from ledger.store.engagement import CheckInRow


def activities(session: Session, *, week_ago: datetime) -> dict[int, tuple[Activity, int]]:
    """Every active member's activity, with their lifetime XP (the caller maps XP to a level,
    so ``Activity.level`` here is 0)."""
    joined = dict(
        session.execute(
            select(UserRow.id, UserRow.created_at).where(UserRow.is_active.is_(True))
        ).all()
    )
    checkins = dict(
        session.execute(
            select(CheckInRow.member_id, func.max(CheckInRow.created_at)).group_by(
                CheckInRow.member_id
            )
        ).all()
    )
    by_member = select(AccountRow.member_id).join(OrderRow, OrderRow.account_id == AccountRow.id)
    last_order: dict[int, datetime] = dict(
        session.execute(
            by_member.add_columns(func.max(OrderRow.created_at)).group_by(AccountRow.member_id)
        ).all()
    )
    recent: dict[int, int] = dict(
        session.execute(
            by_member.add_columns(func.count(OrderRow.id))
            .where(OrderRow.created_at >= week_ago)
            .group_by(AccountRow.member_id)
        ).all()
    )
    xp_rows = session.execute(
        select(BalanceRow.account, BalanceRow.credits_posted).where(
            BalanceRow.asset == XP, BalanceRow.account.like("member:%:xp")
        )
    )
    xp = {int(account.split(":")[1]): int(credits) for account, credits in xp_rows}
    out: dict[int, tuple[Activity, int]] = {}
    for user_id, joined_at in joined.items():
        moments = [m for m in (checkins.get(user_id), last_order.get(user_id)) if m is not None]
        activity = Activity(
            joined_at=joined_at,
            last_active_at=max(moments) if moments else None,
            orders_last_week=int(recent.get(user_id, 0)),
            level=0,
        )
        out[user_id] = (activity, xp.get(user_id, 0))
    return out


def lock_tags(session: Session) -> None:
    """Serialize refreshes on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE member_tags IN SHARE ROW EXCLUSIVE MODE"))
