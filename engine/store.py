"""Persistence of trading: contests' trading state, accounts, positions, orders, fills, equity.

Fills are append-only facts. Cash and positions are stored for speed and are derived state:
``TradingRepository.derived_problems`` replays an account's fills and reports any difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc_now
from core.db import Amount, Base, UtcDateTime, keyset_page
from engine.orders import (
    OPEN_STATUSES,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
)
from engine.portfolio import Portfolio, Position

MONEY = Amount(20, 2)
PRICE = Amount(20, 6)
QTY = Amount(24, 9)


class ContestRow(Base):
    """A contest: its trading state (window, rules, clock) and the game around it (season,
    registration, eligibility, ranking, prizes, teams, PK). The game's JSON parts are stored in
    the shapes of ``engine.contests.spec``; a bare venue (no season) is a trading sandbox."""

    __tablename__ = "contests"
    __table_args__ = (
        CheckConstraint("trading_start <= trading_end", name="ordered_window"),
        CheckConstraint("starting_cash > 0", name="positive_starting_cash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    market: Mapped[str] = mapped_column(String(8))
    rule_overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    starting_cash: Mapped[Decimal] = mapped_column(MONEY)
    universe: Mapped[list[str]] = mapped_column(JSON)
    trading_start: Mapped[date] = mapped_column(Date)
    trading_end: Mapped[date] = mapped_column(Date)
    # The last bar the clock has revealed; None before the first advance.
    clock_day: Mapped[date | None] = mapped_column(Date)
    # Bars revealed so far (1 after the first advance): the leaderboard's tick index.
    clock_ticks: Mapped[int] = mapped_column(Integer, default=0)
    season_id: Mapped[int | None] = mapped_column(ForeignKey("seasons.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    registration_opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    capacity: Mapped[int | None] = mapped_column(Integer)
    min_level: Mapped[int] = mapped_column(Integer, default=0)
    # Set for a private contest: joining requires it.
    invite_code: Mapped[str | None] = mapped_column(String(64))
    metric: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secondary_metric: Mapped[str | None] = mapped_column(String(24))
    qualification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prizes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    team_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pk_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class AccountRow(Base):
    __tablename__ = "trading_accounts"
    __table_args__ = (UniqueConstraint("contest_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starting_cash: Mapped[Decimal] = mapped_column(MONEY)
    cash: Mapped[Decimal] = mapped_column(MONEY)
    fees_paid: Mapped[Decimal] = mapped_column(MONEY)
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    first_fill_day: Mapped[date | None] = mapped_column(Date)
    # The referral reward for a first trade is paid after the fill commits (an outbox flag).
    referral_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class PositionRow(Base):
    __tablename__ = "positions"

    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id"), primary_key=True)
    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(QTY)
    cost_basis: Mapped[Decimal] = mapped_column(MONEY)
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    bought_day: Mapped[date | None] = mapped_column(Date)
    bought_on_day: Mapped[Decimal] = mapped_column(QTY)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("account_id", "client_order_id"),
        Index("ix_orders_contest_status", "contest_id", "status"),
        Index("ix_orders_account_id", "account_id", "id"),
        CheckConstraint("(qty IS NULL) <> (notional IS NULL)", name="qty_or_notional"),
        CheckConstraint("filled_qty >= 0 AND reserved_cash >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id"))
    client_order_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16))
    time_in_force: Mapped[str] = mapped_column(String(8))
    qty: Mapped[Decimal | None] = mapped_column(QTY)
    notional: Mapped[Decimal | None] = mapped_column(MONEY)
    limit_price: Mapped[Decimal | None] = mapped_column(PRICE)
    stop_price: Mapped[Decimal | None] = mapped_column(PRICE)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    filled_qty: Mapped[Decimal] = mapped_column(QTY)
    filled_value: Mapped[Decimal] = mapped_column(MONEY)
    fees: Mapped[Decimal] = mapped_column(MONEY)
    reserved_cash: Mapped[Decimal] = mapped_column(MONEY)
    triggered: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_day: Mapped[date] = mapped_column(Date)
    closed_day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class FillRow(Base):
    __tablename__ = "fills"
    __table_args__ = (
        Index("ix_fills_account_id", "account_id", "id"),
        Index("ix_fills_contest_day", "contest_id", "day"),
        CheckConstraint("qty > 0 AND price > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id"))
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    symbol: Mapped[str] = mapped_column(ForeignKey("instruments.symbol"))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[Decimal] = mapped_column(QTY)
    price: Mapped[Decimal] = mapped_column(PRICE)
    value: Mapped[Decimal] = mapped_column(MONEY)
    commission: Mapped[Decimal] = mapped_column(MONEY)
    stamp_duty: Mapped[Decimal] = mapped_column(MONEY)
    transfer_fee: Mapped[Decimal] = mapped_column(MONEY)
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    day: Mapped[date] = mapped_column(Date)


class EquityRow(Base):
    """An account's value at one day's closes: the daily equity curve."""

    __tablename__ = "equity_history"
    __table_args__ = (Index("ix_equity_history_contest_day", "contest_id", "day"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    cash: Mapped[Decimal] = mapped_column(MONEY)
    equity: Mapped[Decimal] = mapped_column(MONEY)


# --- mapping rows <-> domain ------------------------------------------------------------------


def order_of(row: OrderRow) -> Order:
    return Order(
        id=row.id,
        account_id=row.account_id,
        client_order_id=row.client_order_id,
        request=OrderRequest(
            symbol=row.symbol,
            side=Side(row.side),
            type=OrderType(row.type),
            time_in_force=TimeInForce(row.time_in_force),
            qty=row.qty,
            notional=row.notional,
            limit_price=row.limit_price,
            stop_price=row.stop_price,
            client_order_id=row.client_order_id,
        ),
        status=OrderStatus(row.status),
        submitted_day=row.submitted_day,
        filled_qty=row.filled_qty,
        filled_value=row.filled_value,
        fees=row.fees,
        reserved_cash=row.reserved_cash,
        triggered=row.triggered,
        reason=Reason(row.reason) if row.reason else None,
        closed_day=row.closed_day,
    )


def fill_of(row: FillRow) -> Fill:
    return Fill(
        order_id=row.order_id,
        account_id=row.account_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=row.qty,
        price=row.price,
        value=row.value,
        commission=row.commission,
        stamp_duty=row.stamp_duty,
        transfer_fee=row.transfer_fee,
        day=row.day,
        realized_pnl=row.realized_pnl,
    )


def _position_of(row: PositionRow) -> Position:
    return Position(
        symbol=row.symbol,
        qty=row.qty,
        cost_basis=row.cost_basis,
        realized_pnl=row.realized_pnl,
        bought_day=row.bought_day,
        bought_on_day=row.bought_on_day,
    )


class TradingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # contests
    def add_contest(self, row: ContestRow) -> ContestRow:
        self.session.add(row)
        self.session.flush()
        return row

    def contest(self, contest_id: int, *, lock: bool = False) -> ContestRow | None:
        stmt = select(ContestRow).where(ContestRow.id == contest_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def running_contests(self) -> list[ContestRow]:
        """Contests whose clock has not reached the end of their trading window."""
        stmt = select(ContestRow).where(
            (ContestRow.clock_day.is_(None)) | (ContestRow.clock_day < ContestRow.trading_end)
        )
        return list(self.session.scalars(stmt))

    # accounts
    def add_account(self, contest_id: int, member_id: int, cash: Decimal) -> AccountRow:
        row = AccountRow(
            contest_id=contest_id,
            member_id=member_id,
            starting_cash=cash,
            cash=cash,
            fees_paid=Decimal(0),
            realized_pnl=Decimal(0),
            referral_pending=False,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def account(self, contest_id: int, member_id: int, *, lock: bool = False) -> AccountRow | None:
        stmt = select(AccountRow).where(
            AccountRow.contest_id == contest_id, AccountRow.member_id == member_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def accounts(self, contest_id: int) -> list[AccountRow]:
        stmt = select(AccountRow).where(AccountRow.contest_id == contest_id).order_by(AccountRow.id)
        return list(self.session.scalars(stmt))

    def portfolio(self, account: AccountRow) -> Portfolio:
        rows = self.session.scalars(select(PositionRow).where(PositionRow.account_id == account.id))
        return Portfolio(
            account_id=account.id,
            starting_cash=account.starting_cash,
            cash=account.cash,
            fees_paid=account.fees_paid,
            realized_pnl=account.realized_pnl,
            positions={row.symbol: _position_of(row) for row in rows},
        )

    def portfolios(self, accounts: Sequence[AccountRow]) -> dict[int, Portfolio]:
        """Every portfolio of ``accounts`` with two queries, whatever their number."""
        by_id = {a.id: a for a in accounts}
        result = {
            a.id: Portfolio(a.id, a.starting_cash, a.cash, a.fees_paid, a.realized_pnl)
            for a in accounts
        }
        if not by_id:
            return result
        contest_ids = {a.contest_id for a in accounts}
        stmt = (
            select(PositionRow)
            .join(AccountRow, AccountRow.id == PositionRow.account_id)
            .where(AccountRow.contest_id.in_(contest_ids))
        )
        for row in self.session.scalars(stmt):
            if row.account_id in result:
                result[row.account_id].positions[row.symbol] = _position_of(row)
        return result

    def save_portfolio(self, account: AccountRow, portfolio: Portfolio) -> None:
        account.cash = portfolio.cash
        account.fees_paid = portfolio.fees_paid
        account.realized_pnl = portfolio.realized_pnl
        existing = {
            row.symbol: row
            for row in self.session.scalars(
                select(PositionRow).where(PositionRow.account_id == account.id)
            )
        }
        for symbol, position in portfolio.positions.items():
            row = existing.get(symbol)
            if row is None:
                row = PositionRow(account_id=account.id, symbol=symbol)
                self.session.add(row)
            row.qty = position.qty
            row.cost_basis = position.cost_basis
            row.realized_pnl = position.realized_pnl
            row.bought_day = position.bought_day
            row.bought_on_day = position.bought_on_day

    # orders
    def add_order(self, contest_id: int, order: Order) -> Order:
        request = order.request
        row = OrderRow(
            contest_id=contest_id,
            account_id=order.account_id,
            client_order_id=order.client_order_id,
            symbol=request.symbol,
            side=request.side.value,
            type=request.type.value,
            time_in_force=request.time_in_force.value,
            qty=request.qty,
            notional=request.notional,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            status=order.status.value,
            reason=None,
            filled_qty=Decimal(0),
            filled_value=Decimal(0),
            fees=Decimal(0),
            reserved_cash=order.reserved_cash,
            triggered=False,
            submitted_day=order.submitted_day,
        )
        self.session.add(row)
        self.session.flush()
        return order_of(row)

    def order(self, account_id: int, order_id: int) -> Order | None:
        row = self.session.get(OrderRow, order_id)
        return order_of(row) if row is not None and row.account_id == account_id else None

    def order_by_client_id(self, account_id: int, client_order_id: str) -> Order | None:
        stmt = select(OrderRow).where(
            OrderRow.account_id == account_id, OrderRow.client_order_id == client_order_id
        )
        row = self.session.scalars(stmt).one_or_none()
        return order_of(row) if row is not None else None

    def open_orders(self, *, contest_id: int, account_id: int | None = None) -> list[Order]:
        stmt = select(OrderRow).where(
            OrderRow.contest_id == contest_id,
            OrderRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        if account_id is not None:
            stmt = stmt.where(OrderRow.account_id == account_id)
        return [order_of(row) for row in self.session.scalars(stmt.order_by(OrderRow.id))]

    def orders_page(
        self, account_id: int, *, status: Sequence[str] | None, after: int | None, limit: int
    ) -> tuple[list[Order], int | None]:
        """Newest first; returns the page and the cursor of the next one."""
        stmt = select(OrderRow).where(OrderRow.account_id == account_id)
        if status:
            stmt = stmt.where(OrderRow.status.in_(status))
        rows, following = keyset_page(
            self.session, stmt, key=OrderRow.id, after=after, limit=limit, descending=True
        )
        return [order_of(row) for row in rows], following

    def count_orders_submitted(self, account_id: int, day: date) -> int:
        stmt = select(func.count()).where(
            OrderRow.account_id == account_id, OrderRow.submitted_day == day
        )
        return int(self.session.scalar(stmt) or 0)

    def update_orders(self, orders: Iterable[Order]) -> None:
        now = utc_now()
        for order in orders:
            self.session.execute(
                update(OrderRow)
                .where(OrderRow.id == order.id)
                .values(
                    status=order.status.value,
                    reason=order.reason.value if order.reason else None,
                    filled_qty=order.filled_qty,
                    filled_value=order.filled_value,
                    fees=order.fees,
                    reserved_cash=order.reserved_cash,
                    triggered=order.triggered,
                    closed_day=order.closed_day,
                    updated_at=now,
                )
            )

    # fills and equity
    def add_fills(self, contest_id: int, fills: Sequence[Fill]) -> None:
        if not fills:
            return
        self.session.execute(
            insert(FillRow),
            [
                {
                    "order_id": f.order_id,
                    "account_id": f.account_id,
                    "contest_id": contest_id,
                    "symbol": f.symbol,
                    "side": f.side.value,
                    "qty": f.qty,
                    "price": f.price,
                    "value": f.value,
                    "commission": f.commission,
                    "stamp_duty": f.stamp_duty,
                    "transfer_fee": f.transfer_fee,
                    "realized_pnl": f.realized_pnl,
                    "day": f.day,
                }
                for f in fills
            ],
        )

    def fills(self, account_id: int) -> list[Fill]:
        stmt = select(FillRow).where(FillRow.account_id == account_id).order_by(FillRow.id)
        return [fill_of(row) for row in self.session.scalars(stmt)]

    def fills_between(self, account_id: int, first: date, last: date) -> list[Fill]:
        stmt = (
            select(FillRow)
            .where(FillRow.account_id == account_id, FillRow.day >= first, FillRow.day <= last)
            .order_by(FillRow.id)
        )
        return [fill_of(row) for row in self.session.scalars(stmt)]

    def add_equity(
        self, contest_id: int, day: date, rows: Sequence[tuple[int, Decimal, Decimal]]
    ) -> None:
        """Store (account id, cash, equity) for ``day``."""
        if not rows:
            return
        self.session.execute(
            insert(EquityRow),
            [
                {"account_id": a, "day": day, "contest_id": contest_id, "cash": c, "equity": e}
                for a, c, e in rows
            ],
        )

    def equity_curve(self, account_id: int) -> list[tuple[date, Decimal, Decimal]]:
        stmt = (
            select(EquityRow.day, EquityRow.cash, EquityRow.equity)
            .where(EquityRow.account_id == account_id)
            .order_by(EquityRow.day)
        )
        return [(day, cash, equity) for day, cash, equity in self.session.execute(stmt)]
