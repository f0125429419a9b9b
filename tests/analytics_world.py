"""A small seeded world for analytics tests: members signing up across three weeks, contest
entries, orders and fills, check-in streaks, grants and redemptions (one cancelled, one held).

Window: Monday 2026-01-05 .. Sunday 2026-01-25. Users, entries, orders and check-ins are
inserted as rows (their timestamps matter, not how they came about); points and redemptions go
through the ledger's own services so that its balances are the real ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from core.db import Database
from core.users.model import User
from core.users.store import UserRoleRow, UserRow
from engine.analytics.model import Window
from engine.trading.store import AccountRow, FillRow, OrderRow
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.model import ISSUANCE, POINTS, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork, transfer
from ledger.store.engagement import CheckInRow
from tests import contest_builders as build

WINDOW = Window(date(2026, 1, 5), date(2026, 1, 25))
NAMES = ("old", "a", "b", "c", "d", "e", "late")
SIGNED_UP = {
    "old": datetime(2025, 12, 20, 9, tzinfo=UTC),
    "a": datetime(2026, 1, 5, 10, tzinfo=UTC),
    "b": datetime(2026, 1, 6, 23, 59, tzinfo=UTC),
    "c": datetime(2026, 1, 11, 23, 30, tzinfo=UTC),  # Sunday: still the first week
    "d": datetime(2026, 1, 13, 8, tzinfo=UTC),
    "e": datetime(2026, 1, 20, 8, tzinfo=UTC),
    "late": datetime(2026, 1, 26, 0, 0, tzinfo=UTC),  # the Monday after the window
}


@dataclass(frozen=True)
class AnalyticsWorld:
    ids: dict[str, int]

    def of(self, *names: str) -> frozenset[int]:
        return frozenset(self.ids[name] for name in names)


def _at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def build_world(database: Database, operator: User) -> AnalyticsWorld:
    with database.sessions() as session, session.begin():
        rows = {
            name: UserRow(
                username=f"an_{name}",
                display_name=name,
                password_hash="!",
                is_active=True,
                created_at=SIGNED_UP[name],
                rank_history_public=True,
                token_stamp=secrets.token_urlsafe(8),
            )
            for name in NAMES
        }
        session.add_all(rows.values())
        session.flush()
        ids = {name: row.id for name, row in rows.items()}
        session.add_all(
            UserRoleRow(user_id=i, role="member", granted_at=SIGNED_UP["old"]) for i in ids.values()
        )
    engine_uow = EngineUnitOfWork(database.sessions)
    season = build.season(engine_uow, operator, days=10, count=1)
    contest = build.contest(engine_uow, season)
    symbol = season.universe[0]
    with database.sessions() as session, session.begin():
        accounts = {}
        for name in ("old", "a", "b", "d"):
            account = AccountRow(
                contest_id=contest.id,
                member_id=ids[name],
                starting_cash=Decimal(1000),
                cash=Decimal(1000),
                fees_paid=Decimal(0),
                realized_pnl=Decimal(0),
                created_at=_at("2026-01-05"),
            )
            session.add(account)
            accounts[name] = account
        session.flush()
        orders = [("a", "2026-01-05", True), ("a", "2026-01-14", False)]
        orders += [("d", "2026-01-13", False), ("old", "2026-01-10", True)]
        for n, (name, day, filled) in enumerate(orders):
            order = OrderRow(
                contest_id=contest.id,
                account_id=accounts[name].id,
                client_order_id=f"o{n}",
                symbol=symbol,
                side="buy",
                type="market",
                time_in_force="day",
                qty=Decimal(100),
                status="filled" if filled else "canceled",
                filled_qty=Decimal(100 if filled else 0),
                filled_value=Decimal(1000 if filled else 0),
                fees=Decimal(0),
                reserved_cash=Decimal(0),
                submitted_day=date.fromisoformat(day),
                created_at=_at(day),
                updated_at=_at(day),
            )
            session.add(order)
            session.flush()
            if filled:
                session.add(
                    FillRow(
                        order_id=order.id,
                        account_id=accounts[name].id,
                        contest_id=contest.id,
                        symbol=symbol,
                        side="buy",
                        qty=Decimal(100),
                        price=Decimal(10),
                        value=Decimal(1000),
                        commission=Decimal(0),
                        stamp_duty=Decimal(0),
                        transfer_fee=Decimal(0),
                        realized_pnl=Decimal(0),
                        day=date.fromisoformat(day),
                    )
                )
        check_ins = [("a", "2026-01-06", 1), ("a", "2026-01-07", 2), ("a", "2026-01-08", 3)]
        check_ins += [("b", "2026-01-19", 1), ("e", "2026-01-21", 1), ("old", "2026-01-30", 1)]
        for name, day, streak in check_ins:
            session.add(
                CheckInRow(
                    member_id=ids[name],
                    local_date=day,
                    streak=streak,
                    points=0,
                    xp=0,
                    created_at=_at(day),
                )
            )
    ledger = LedgerUnitOfWork(database.sessions)
    for key, name, points, day in [
        ("g-old", "old", 100, "2025-12-21"),
        ("g-a", "a", 100, "2026-01-05"),
        ("g-b", "b", 50, "2026-01-19"),
    ]:
        request = TransferRequest(key, ISSUANCE, points_account(ids[name]), POINTS, points, "grant")
        transfer(ledger, request, now=_at(day, 8))
    made = _at("2025-12-01")
    ticket = engagement.create_item(
        ledger, key="ticket", name="Ticket", cost_points=20, stock=5, now=made
    )
    book = engagement.create_item(
        ledger, key="book", name="Book", cost_points=40, stock=5, needs_fulfilment=True, now=made
    )
    engagement.redeem(ledger, ids["a"], ticket.id, redemption_id="ra", now=_at("2026-01-15"))
    engagement.redeem(ledger, ids["old"], book.id, redemption_id="ro", now=_at("2026-01-10"))
    engagement.resolve_redemption(ledger, "ro", fulfil=False, now=_at("2026-01-11"))
    engagement.redeem(ledger, ids["b"], book.id, redemption_id="rb", now=_at("2026-01-20"))
    return AnalyticsWorld(ids)
