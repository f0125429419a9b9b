"""Trading's tables (contests' trading state, accounts, positions, orders, fills, equity) and
the mapping between their rows and the domain records.

The repositories are ``store_accounts.TradingRepository`` (``uow.trading``) and the
``store_orders.OrdersRepository`` it extends. Fills are append-only facts; cash and positions
are derived state, stored for speed (``engine.trading.services.check_books`` replays them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc_now
from core.db import Amount, Base, UtcDateTime
from engine.trading.orders import (
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
)
from engine.trading.portfolio import Position

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
    # Bumped by every write to its accounts' cash or positions (the key of process caches).
    books_version: Mapped[int] = mapped_column(Integer, default=0)
    season_id: Mapped[int | None] = mapped_column(ForeignKey("seasons.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    registration_opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    capacity: Mapped[int | None] = mapped_column(Integer)
    min_level: Mapped[int] = mapped_column(Integer, default=0)
    # Set for a private contest: joining requires it.
    invite_code: Mapped[str | None] = mapped_column(String(64))
    # Set: only members of this segment (core.segments) may join.
    target_segment: Mapped[str | None] = mapped_column(String(64))
    metric: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secondary_metric: Mapped[str | None] = mapped_column(String(24))
    qualification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An entry with a filled order that has no journal note is listed unranked.
    notes_required_for_ranking: Mapped[bool] = mapped_column(Boolean, default=False)
    prizes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    team_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pk_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Prize rules (engine.contests.prize_rules): draw lines, the public disclosures, an entry
    # fee in points (refused beside prizes) and the draw's secret seed (its hash is public).
    draws: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    disclosures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entry_fee_points: Mapped[int] = mapped_column(Integer, default=0)
    draw_seed: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # "daily" (one tick per revealed day) or "minute" (live intraday: one tick per minute bar).
    bar_interval: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    # A minute contest's last ticked bar start (the idempotency pointer of its intraday ticks)
    # and, while its feed is out, since when matching has been paused (status ``feed_stale``).
    intraday_bar: Mapped[datetime | None] = mapped_column(UtcDateTime())
    feed_stale_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A minute contest's last session day whose close its intraday clock ticked: it is
    # finished once this reaches ``trading_end`` (``clock_day`` reaches it at the last
    # session's first minute, when trading on that day has only begun).
    closed_day: Mapped[date | None] = mapped_column(Date)
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


class OrderNoteRow(Base):
    """A member's trade-journal note on one of their orders (edited in place: a journal entry,
    not a ledger fact)."""

    __tablename__ = "order_notes"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    note: Mapped[str] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


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


class ActionApplicationRow(Base):
    """One corporate action applied to one account's position, once (its primary key): the
    fact ``check_books`` replays beside the fills, and what it did (signed quantities, cash)."""

    __tablename__ = "corporate_action_applications"
    __table_args__ = (Index("ix_corporate_action_applications_contest_day", "contest_id", "day"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id"), primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("corporate_actions.id"), primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    # The contest day it was applied on: the ex-date, or the contest's first day after it.
    day: Mapped[date] = mapped_column(Date)
    reference_price: Mapped[Decimal] = mapped_column(PRICE)
    whole_shares: Mapped[bool] = mapped_column(Boolean)
    qty_before: Mapped[Decimal] = mapped_column(QTY)
    qty_after: Mapped[Decimal] = mapped_column(QTY)
    cash: Mapped[Decimal] = mapped_column(MONEY)
    released_cost: Mapped[Decimal] = mapped_column(MONEY)


ACCOUNTS = cast(Table, AccountRow.__table__)
APPLICATIONS = cast(Table, ActionApplicationRow.__table__)
POSITIONS = cast(Table, PositionRow.__table__)
ORDERS = cast(Table, OrderRow.__table__)
ORDER_NOTES = cast(Table, OrderNoteRow.__table__)
EQUITY = cast(Table, EquityRow.__table__)


class EntryAccount(Protocol):
    """What ranking and PK rounds read of an account (``AccountRow`` and ``AccountBook`` are)."""

    @property
    def id(self) -> int: ...

    @property
    def member_id(self) -> int: ...

    @property
    def starting_cash(self) -> Decimal: ...


class AccountBook(NamedTuple):
    """An account's stored money, read without ORM objects (the clock reads every account of
    a contest on every tick)."""

    id: int
    contest_id: int
    member_id: int
    starting_cash: Decimal
    cash: Decimal
    fees_paid: Decimal
    realized_pnl: Decimal
    first_fill_day: date | None


# --- mapping rows <-> domain ------------------------------------------------------------------


def order_of(row: OrderRow | Row[Any]) -> Order:
    """The order in a row: an ``OrderRow`` or a plain row of the ``orders`` table."""
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


def order_of_request(order: Order, order_id: int) -> Order:
    """A new order as stored under ``order_id`` (``add_orders``): what ``order_of`` reads back."""
    return Order(
        id=order_id,
        account_id=order.account_id,
        client_order_id=order.client_order_id,
        request=_stored_request(order.request, order.client_order_id),
        status=order.status,
        submitted_day=order.submitted_day,
        reserved_cash=order.reserved_cash,
    )


def _stored_request(request: OrderRequest, client_order_id: str) -> OrderRequest:
    return OrderRequest(
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        time_in_force=request.time_in_force,
        qty=request.qty,
        notional=request.notional,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        client_order_id=client_order_id,
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


def bulk_insert(session: Session, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert rows given column-wise (column name → one value per row): COPY on PostgreSQL,
    one DBAPI executemany on SQLite. Values go through each column type's bind processor a
    column at a time: SQLAlchemy's per-row parameter handling would cost several times the
    insert itself for 100k rows."""
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return
    dialect = session.get_bind().dialect
    connection = session.connection()
    if dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        if driver is None:  # pragma: no cover - a pooled connection always has one
            raise RuntimeError("no DBAPI connection behind the session")
        with driver.cursor() as cursor:
            copy_sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
            with cursor.copy(copy_sql) as copy:
                for row in zip(*(columns[name] for name in names), strict=True):
                    copy.write_row(row)
        return
    processed = []
    for name in names:
        process = table.c[name].type.bind_processor(dialect)
        values = columns[name]
        processed.append(values if process is None else [process(v) for v in values])
    marks = ", ".join("?" for _ in names)
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",
        list(zip(*processed, strict=True)),
    )
