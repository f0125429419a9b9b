"""Persistence of trading: contests' trading state, accounts, positions, orders, fills, equity.

Fills are append-only facts. Cash and positions are stored for speed and are derived state:
``TradingRepository.derived_problems`` replays an account's fills and reports any difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc_now
from core.db import Amount, Base, UtcDateTime, keyset_page
from engine.trading.orders import (
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
from engine.trading.portfolio import Portfolio, Position

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


ACCOUNTS = cast(Table, AccountRow.__table__)
POSITIONS = cast(Table, PositionRow.__table__)
ORDERS = cast(Table, OrderRow.__table__)
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

    def contest_ids(self) -> list[int]:
        """Every contest's id, in order."""
        return list(self.session.scalars(select(ContestRow.id).order_by(ContestRow.id)))

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

    def accounts_of(
        self, contest_id: int, member_ids: Iterable[int], *, lock: bool = False
    ) -> dict[int, AccountRow]:
        """member id → account, for those of ``member_ids`` with one in the contest (locked in
        id order, so two batches never wait on each other crosswise)."""
        wanted = sorted(set(member_ids))
        if not wanted:
            return {}
        stmt = (
            select(AccountRow)
            .where(AccountRow.contest_id == contest_id, AccountRow.member_id.in_(wanted))
            .order_by(AccountRow.id)
        )
        if lock:
            stmt = stmt.with_for_update()
        return {row.member_id: row for row in self.session.scalars(stmt)}

    def account_ids(self, contest_id: int) -> list[int]:
        """The contest's account ids, ascending."""
        stmt = (
            select(AccountRow.id).where(AccountRow.contest_id == contest_id).order_by(AccountRow.id)
        )
        return list(self.session.scalars(stmt))

    def account_books(
        self, contest_id: int, *, ids: Sequence[int] | None = None
    ) -> list[AccountBook]:
        """Every account of the contest (or those of ``ids``), by id."""
        a = AccountRow
        stmt = (
            select(
                a.id,
                a.contest_id,
                a.member_id,
                a.starting_cash,
                a.cash,
                a.fees_paid,
                a.realized_pnl,
                a.first_fill_day,
            )
            .where(a.contest_id == contest_id)
            .order_by(a.id)
        )
        if ids is not None:
            stmt = stmt.where(a.id.in_(list(ids)))
        return [AccountBook(*row) for row in self.session.execute(stmt)]

    def holdings(self, contest_id: int) -> dict[int, dict[str, Decimal]]:
        """account id → symbol → quantity, for the contest's non-zero positions."""
        stmt = (
            select(PositionRow.account_id, PositionRow.symbol, PositionRow.qty)
            .join(AccountRow, AccountRow.id == PositionRow.account_id)
            .where(AccountRow.contest_id == contest_id, PositionRow.qty != 0)
        )
        held: dict[int, dict[str, Decimal]] = {}
        for account_id, symbol, qty in self.session.execute(stmt):
            held.setdefault(account_id, {})[symbol] = qty
        return held

    def positions_of(self, account_ids: Iterable[int]) -> dict[int, dict[str, Position]]:
        """account id → symbol → position (every stored row, closed ones included)."""
        wanted = list(set(account_ids))
        found: dict[int, dict[str, Position]] = {a: {} for a in wanted}
        if not wanted:
            return found
        p = PositionRow
        stmt = select(
            p.account_id, p.symbol, p.qty, p.cost_basis, p.realized_pnl, p.bought_day
        ).add_columns(p.bought_on_day)
        stmt = stmt.where(p.account_id.in_(wanted))
        for account_id, symbol, qty, basis, realized, bought_day, bought in self.session.execute(
            stmt
        ):
            found[account_id][symbol] = Position(symbol, qty, basis, realized, bought_day, bought)
        return found

    def save_books(
        self,
        contest_id: int,
        portfolios: Sequence[Portfolio],
        *,
        stored: Mapping[tuple[int, str], Position],
        first_fill_day: date | None = None,
        first_fills: Iterable[int] = (),
    ) -> None:
        """Write these portfolios' cash and positions with one statement per kind of change:
        ``stored`` holds the position rows as read (those equal to it are left alone);
        ``first_fills`` are the accounts whose first fill came on ``first_fill_day`` (their
        referral reward becomes due). Bumps the contest's ``books_version``: the one writer
        of existing accounts' books, so process caches of them know they are stale."""
        if not portfolios:
            return
        contest = self.session.get(ContestRow, contest_id)
        if contest is None:
            raise LookupError(f"no contest {contest_id}")
        contest.books_version += 1
        connection = self.session.connection()
        connection.execute(
            ACCOUNTS.update()
            .where(ACCOUNTS.c.id == bindparam("account"))
            .values(
                cash=bindparam("cash"),
                fees_paid=bindparam("fees"),
                realized_pnl=bindparam("realized"),
            ),
            [
                {"account": p.account_id, "cash": p.cash, "fees": p.fees_paid}
                | {"realized": p.realized_pnl}
                for p in portfolios
            ],
        )
        firsts = [{"account": a} for a in first_fills]
        if firsts:
            connection.execute(
                ACCOUNTS.update()
                .where(ACCOUNTS.c.id == bindparam("account"))
                .values(first_fill_day=first_fill_day, referral_pending=True),
                firsts,
            )
        changed: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        for portfolio in portfolios:
            for symbol, position in portfolio.positions.items():
                before = stored.get((portfolio.account_id, symbol))
                if before == position:
                    continue
                values = {
                    "account": portfolio.account_id,
                    "sym": symbol,
                    "qty": position.qty,
                    "basis": position.cost_basis,
                    "realized": position.realized_pnl,
                    "bought_day": position.bought_day,
                    "bought": position.bought_on_day,
                }
                (added if before is None else changed).append(values)
        columns: dict[str, Any] = {
            "qty": bindparam("qty"),
            "cost_basis": bindparam("basis"),
            "realized_pnl": bindparam("realized"),
            "bought_day": bindparam("bought_day"),
            "bought_on_day": bindparam("bought"),
        }
        if changed:
            connection.execute(
                POSITIONS.update()
                .where(
                    POSITIONS.c.account_id == bindparam("account"),
                    POSITIONS.c.symbol == bindparam("sym"),
                )
                .values(**columns),
                changed,
            )
        if added:
            connection.execute(
                POSITIONS.insert().values(
                    account_id=bindparam("account"), symbol=bindparam("sym"), **columns
                ),
                added,
            )

    def referral_pending(self, contest_id: int) -> list[int]:
        """Members of the contest whose first fill's referral reward is still to be fired."""
        stmt = (
            select(AccountRow.member_id)
            .where(AccountRow.contest_id == contest_id, AccountRow.referral_pending.is_(True))
            .order_by(AccountRow.id)
        )
        return list(self.session.scalars(stmt))

    def clear_referral_pending(self, contest_id: int, member_ids: Iterable[int]) -> None:
        self.session.connection().execute(
            ACCOUNTS.update()
            .where(ACCOUNTS.c.contest_id == contest_id, ACCOUNTS.c.member_id.in_(list(member_ids)))
            .values(referral_pending=False)
        )

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

    # orders
    def add_orders(self, contest_id: int, orders: Sequence[Order]) -> list[Order]:
        """Store new orders with one statement; returns them with their ids, in order."""
        if not orders:
            return []
        now = utc_now()
        rows = [
            {
                "contest_id": contest_id,
                "account_id": order.account_id,
                "client_order_id": order.client_order_id,
                "symbol": order.request.symbol,
                "side": order.request.side.value,
                "type": order.request.type.value,
                "time_in_force": order.request.time_in_force.value,
                "qty": order.request.qty,
                "notional": order.request.notional,
                "limit_price": order.request.limit_price,
                "stop_price": order.request.stop_price,
                "status": order.status.value,
                "reason": None,
                "filled_qty": Decimal(0),
                "filled_value": Decimal(0),
                "fees": Decimal(0),
                "reserved_cash": order.reserved_cash,
                "triggered": False,
                "submitted_day": order.submitted_day,
                "created_at": now,
                "updated_at": now,
            }
            for order in orders
        ]
        connection = self.session.connection()
        connection.execute(ORDERS.insert(), rows)
        # (account, client order id) is unique: one query over the accounts' orders of the
        # day finds the ids (RETURNING in a guaranteed order inserts row by row on SQLite).
        stmt = select(ORDERS.c.id, ORDERS.c.account_id, ORDERS.c.client_order_id).where(
            ORDERS.c.account_id.in_({o.account_id for o in orders}),
            ORDERS.c.submitted_day.in_({o.submitted_day for o in orders}),
        )
        ids = {
            (account, client): order_id for order_id, account, client in connection.execute(stmt)
        }
        return [order_of_request(o, ids[(o.account_id, o.client_order_id)]) for o in orders]

    def open_orders_of(self, account_ids: Iterable[int]) -> dict[int, list[Order]]:
        """account id → its open orders, by id."""
        wanted = list(set(account_ids))
        found: dict[int, list[Order]] = {a: [] for a in wanted}
        if not wanted:
            return found
        stmt = (
            select(ORDERS)
            .where(
                OrderRow.account_id.in_(wanted),
                OrderRow.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(OrderRow.id)
        )
        for row in self.session.execute(stmt):
            found[row.account_id].append(order_of(row))
        return found

    def orders_submitted_on(self, account_ids: Iterable[int], day: date) -> dict[int, int]:
        """account id → orders submitted on ``day`` (accounts without any absent)."""
        wanted = list(set(account_ids))
        if not wanted:
            return {}
        stmt = (
            select(OrderRow.account_id, func.count())
            .where(OrderRow.account_id.in_(wanted), OrderRow.submitted_day == day)
            .group_by(OrderRow.account_id)
        )
        return {int(a): int(n) for a, n in self.session.execute(stmt)}

    def orders_by_client_ids(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Order]:
        """(account id, client order id) → the stored order, for the keys that have one."""
        wanted = set(keys)
        if not wanted:
            return {}
        # Two IN lists use the (account, client id) index; the pairs are picked out here.
        candidates = select(ORDERS.c.id, ORDERS.c.account_id, ORDERS.c.client_order_id).where(
            ORDERS.c.account_id.in_({a for a, _ in wanted}),
            ORDERS.c.client_order_id.in_({c for _, c in wanted}),
        )
        ids = [i for i, a, c in self.session.execute(candidates) if (a, c) in wanted]
        if not ids:
            return {}
        rows = self.session.execute(select(ORDERS).where(ORDERS.c.id.in_(ids)))
        return {(row.account_id, row.client_order_id): order_of(row) for row in rows}

    def order(self, account_id: int, order_id: int) -> Order | None:
        row = self.session.get(OrderRow, order_id)
        return order_of(row) if row is not None and row.account_id == account_id else None

    def open_orders(self, *, contest_id: int, account_id: int | None = None) -> list[Order]:
        stmt = select(ORDERS).where(
            OrderRow.contest_id == contest_id,
            OrderRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        if account_id is not None:
            stmt = stmt.where(OrderRow.account_id == account_id)
        return [order_of(row) for row in self.session.execute(stmt.order_by(OrderRow.id))]

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

    def update_orders(self, orders: Iterable[Order]) -> None:
        """Store the orders' new states, one statement for all of them."""
        now = utc_now()
        rows = [
            {
                "order": order.id,
                "status": order.status.value,
                "reason": order.reason.value if order.reason else None,
                "filled_qty": order.filled_qty,
                "filled_value": order.filled_value,
                "fees": order.fees,
                "reserved_cash": order.reserved_cash,
                "triggered": order.triggered,
                "closed_day": order.closed_day,
                "updated_at": now,
            }
            for order in orders
        ]
        if not rows:
            return
        names = [name for name in rows[0] if name != "order"]
        self.session.connection().execute(
            ORDERS.update()
            .where(ORDERS.c.id == bindparam("order"))
            .values({name: bindparam(name) for name in names}),
            rows,
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

    def fills_on_days(
        self, account_ids: Iterable[int], days: Iterable[date]
    ) -> dict[int, list[Fill]]:
        """Each account's fills on ``days``, in booking order (accounts without any absent)."""
        ids, on = list(account_ids), list(days)
        found: dict[int, list[Fill]] = {}
        if not ids or not on:
            return found
        stmt = (
            select(FillRow)
            .where(FillRow.account_id.in_(ids), FillRow.day.in_(on))
            .order_by(FillRow.id)
        )
        for row in self.session.scalars(stmt):
            found.setdefault(row.account_id, []).append(fill_of(row))
        return found

    def add_equity(
        self, contest_id: int, day: date, rows: Sequence[tuple[int, Decimal, Decimal]]
    ) -> None:
        """Store (account id, cash, equity) for ``day``."""
        bulk_insert(
            self.session,
            EQUITY,
            {
                "account_id": [a for a, _, _ in rows],
                "day": [day] * len(rows),
                "contest_id": [contest_id] * len(rows),
                "cash": [c for _, c, _ in rows],
                "equity": [e for _, _, e in rows],
            },
        )

    def equity_curve(self, account_id: int) -> list[tuple[date, Decimal, Decimal]]:
        stmt = (
            select(EquityRow.day, EquityRow.cash, EquityRow.equity)
            .where(EquityRow.account_id == account_id)
            .order_by(EquityRow.day)
        )
        return [(day, cash, equity) for day, cash, equity in self.session.execute(stmt)]
