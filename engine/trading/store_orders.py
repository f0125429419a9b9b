"""Persistence of orders, fills and equity marks: the order half of ``uow.trading``.

Fills and equity marks are append-only facts; an order's row moves through its statuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    bindparam,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from core.clock import as_utc, utc_now
from core.db import keyset_page
from core.member_events import ORDER_FILL, ORDER_STATUS
from core.member_events_store import record_account_events
from engine.trading.orders import (
    OPEN_STATUSES,
    Fill,
    Order,
)
from engine.trading.store import (
    ACCOUNTS,
    EQUITY,
    ORDER_NOTES,
    ORDERS,
    AccountRow,
    EquityRow,
    FillRow,
    OrderNoteRow,
    OrderRow,
    bulk_insert,
    fill_of,
    order_of,
    order_of_request,
)

# The order desk's read of its accounts' orders, built once (``desk_orders``): the open ones,
# and with client ids, those these name.
_OPEN = ORDERS.c.status.in_([s.value for s in OPEN_STATUSES])
_DESK_ORDERS = (
    select(ORDERS)
    .where(ORDERS.c.account_id.in_(bindparam("accounts", expanding=True)), _OPEN)
    .order_by(ORDERS.c.id)
)
_DESK_ORDERS_NAMED = (
    select(ORDERS)
    .where(
        ORDERS.c.account_id.in_(bindparam("accounts", expanding=True)),
        or_(_OPEN, ORDERS.c.client_order_id.in_(bindparam("clients", expanding=True))),
    )
    .order_by(ORDERS.c.id)
)


class OrdersRepository:
    session: Session

    def add_orders(
        self, contest_id: int, orders: Sequence[Order], *, now: datetime | None = None
    ) -> list[Order]:
        """Store new orders with one statement, accepted at ``now`` (default: the wall clock);
        returns them with their ids, in order."""
        if not orders:
            return []
        now = now or utc_now()
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
        if len(rows) == 1 or connection.dialect.name == "postgresql":
            # One statement: PostgreSQL's insertmanyvalues returns the ids in parameter order.
            returning = ORDERS.insert().returning(ORDERS.c.id, sort_by_parameter_order=True)
            ids = list(connection.execute(returning, rows).scalars())
            return [order_of_request(o, i) for o, i in zip(orders, ids, strict=True)]
        connection.execute(ORDERS.insert(), rows)
        # (account, client order id) is unique: one query over the accounts' orders of the
        # day finds the ids (RETURNING in a guaranteed order inserts row by row on SQLite).
        stmt = select(ORDERS.c.id, ORDERS.c.account_id, ORDERS.c.client_order_id).where(
            ORDERS.c.account_id.in_({o.account_id for o in orders}),
            ORDERS.c.submitted_day.in_({o.submitted_day for o in orders}),
        )
        found = {
            (account, client): order_id for order_id, account, client in connection.execute(stmt)
        }
        return [order_of_request(o, found[(o.account_id, o.client_order_id)]) for o in orders]

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

    def desk_orders(
        self, account_ids: Iterable[int], client_keys: Iterable[tuple[int, str]]
    ) -> tuple[dict[int, list[Order]], dict[tuple[int, str], Order]]:
        """What an order desk reads of these accounts' orders, in one statement: account id →
        its open orders by id (``open_orders_of``), and (account id, client order id) → the
        stored order, for the keys that have one (``orders_by_client_ids``)."""
        wanted, keys = sorted(set(account_ids)), set(client_keys)
        open_orders: dict[int, list[Order]] = {a: [] for a in wanted}
        known: dict[tuple[int, str], Order] = {}
        if not wanted:
            return open_orders, known
        values: dict[str, list[Any]] = {"accounts": wanted}
        stmt = _DESK_ORDERS
        if keys:
            stmt, values["clients"] = _DESK_ORDERS_NAMED, sorted({c for _, c in keys})
        statuses = {s.value for s in OPEN_STATUSES}
        for row in self.session.connection().execute(stmt, values):
            order = order_of(row)
            if row.status in statuses:
                open_orders[row.account_id].append(order)
            if (row.account_id, row.client_order_id) in keys:
                known[(row.account_id, row.client_order_id)] = order
        return open_orders, known

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

    def set_note(self, order_id: int, note: str, now: datetime) -> None:
        """Attach or replace the journal note of an order."""
        row = self.session.get(OrderNoteRow, order_id)
        if row is None:
            self.session.add(OrderNoteRow(order_id=order_id, note=note, updated_at=now))
        else:
            row.note, row.updated_at = note, now

    def add_notes(self, notes: Sequence[tuple[int, str]], now: datetime) -> None:
        """Store the journal notes of orders that have none yet (new orders), one statement."""
        if notes:
            self.session.connection().execute(
                ORDER_NOTES.insert(),
                [{"order_id": o, "note": n, "updated_at": now} for o, n in notes],
            )

    def notes_of(self, order_ids: Iterable[int]) -> dict[int, str]:
        """order id → its note (orders without one absent)."""
        wanted = list(set(order_ids))
        if not wanted:
            return {}
        stmt = select(OrderNoteRow.order_id, OrderNoteRow.note).where(
            OrderNoteRow.order_id.in_(wanted)
        )
        return {row[0]: row[1] for row in self.session.execute(stmt)}

    def members_with_unnoted_fills(self, contest_id: int) -> set[int]:
        """Members of the contest with a (partly) filled order that has no journal note."""
        stmt = (
            select(AccountRow.member_id)
            .join(OrderRow, OrderRow.account_id == AccountRow.id)
            .outerjoin(OrderNoteRow, OrderNoteRow.order_id == OrderRow.id)
            .where(
                OrderRow.contest_id == contest_id,
                OrderRow.filled_qty > 0,
                OrderNoteRow.order_id.is_(None),
            )
            .distinct()
        )
        return set(self.session.scalars(stmt))

    def open_orders(self, *, contest_id: int, account_id: int | None = None) -> list[Order]:
        stmt = select(ORDERS).where(
            OrderRow.contest_id == contest_id,
            OrderRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        if account_id is not None:
            stmt = stmt.where(OrderRow.account_id == account_id)
        return [order_of(row) for row in self.session.execute(stmt.order_by(OrderRow.id))]

    def resting_orders(self, *, contest_id: int) -> list[tuple[Order, datetime]]:
        """The contest's open orders (by id) and the instant each was accepted (UTC)."""
        stmt = select(ORDERS).where(
            OrderRow.contest_id == contest_id,
            OrderRow.status.in_([s.value for s in OPEN_STATUSES]),
        )
        return [
            (order_of(row), as_utc(row.created_at))
            for row in self.session.execute(stmt.order_by(OrderRow.id))
        ]

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
        """Store the orders' new states, one statement for all of them, and announce each to
        its member (an ``order.status`` member event, one more statement for all of them)."""
        orders = list(orders)
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
        record_account_events(
            self.session,
            ACCOUNTS,
            [(order.account_id, ORDER_STATUS, _status_payload(order)) for order in orders],
            now=now,
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
        record_account_events(
            self.session,
            ACCOUNTS,
            [(f.account_id, ORDER_FILL, _fill_payload(contest_id, f)) for f in fills],
            now=utc_now(),
        )

    def fills(self, account_id: int) -> list[Fill]:
        stmt = select(FillRow).where(FillRow.account_id == account_id).order_by(FillRow.id)
        return [fill_of(row) for row in self.session.scalars(stmt)]

    def fills_page(
        self, account_id: int, *, before: int | None, limit: int
    ) -> list[tuple[int, Fill]]:
        """The account's fills newest first, with their ids, the ``limit`` before id ``before``."""
        stmt = select(FillRow).where(FillRow.account_id == account_id)
        if before is not None:
            stmt = stmt.where(FillRow.id < before)
        stmt = stmt.order_by(FillRow.id.desc()).limit(limit)
        return [(row.id, fill_of(row)) for row in self.session.scalars(stmt)]

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


def _status_payload(order: Order) -> dict[str, object]:
    return {
        "order_id": order.id,
        "account_id": order.account_id,
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "status": order.status.value,
        "reason": order.reason.value if order.reason else None,
        "filled_qty": _number(order.filled_qty),
        "filled_value": _number(order.filled_value),
        "fees": _number(order.fees),
    }


def _fill_payload(contest_id: int, fill: Fill) -> dict[str, object]:
    return {
        "contest_id": contest_id,
        "order_id": fill.order_id,
        "account_id": fill.account_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "qty": _number(fill.qty),
        "price": _number(fill.price),
        "value": _number(fill.value),
        "fees": _number(fill.fees),
        "day": fill.day.isoformat(),
    }


def _number(value: Decimal) -> str:
    """A decimal as the API writes it: no trailing zeros (``100``, ``10.5``)."""
    return format(value.normalize(), "f") if value else "0"
