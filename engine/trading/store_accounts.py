"""Persistence of contests' trading state, accounts, positions and books: ``uow.trading``.

Cash and positions are stored for speed and are derived state: ``engine.trading.checks``
replays an account's fills and reports any difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    select,
)
from sqlalchemy.orm import Session

from engine.market.corporate_actions import Entitlement
from engine.trading.corporate import Application
from engine.trading.portfolio import Portfolio, Position
from engine.trading.store import (
    ACCOUNTS,
    APPLICATIONS,
    POSITIONS,
    AccountBook,
    AccountRow,
    ActionApplicationRow,
    ContestRow,
    PositionRow,
    _position_of,
)
from engine.trading.store_orders import OrdersRepository


class ContestHead(NamedTuple):
    """A contest's identity, committed tick and invite code (``TradingRepository.contest_head``)."""

    id: int
    clock_ticks: int
    clock_day: date | None
    invite_code: str | None


class VenueRow(NamedTuple):
    """The columns of a contest that make its venue (``engine.trading.venue.venue_of``), read
    as one plain row: none of the game's JSON columns decoded, nothing in the identity map."""

    id: int
    market: str
    rule_overrides: dict[str, Any]
    universe: list[str]
    starting_cash: Decimal
    trading_start: date
    trading_end: date
    clock_day: date | None
    bar_interval: str | None


# The order desk's reads, built once: a batch binds its values (SQLAlchemy's compiled cache
# then skips building and keying the statement per call).
_VENUE = select(*(ContestRow.__table__.c[name] for name in VenueRow._fields)).where(
    ContestRow.__table__.c.id == bindparam("contest")
)
_ENTRIES = (
    select(
        ACCOUNTS.c.id,
        ACCOUNTS.c.member_id,
        ACCOUNTS.c.starting_cash,
        ACCOUNTS.c.cash,
        ACCOUNTS.c.fees_paid,
        ACCOUNTS.c.realized_pnl,
    )
    .add_columns(POSITIONS.c.symbol, POSITIONS.c.qty, POSITIONS.c.cost_basis)
    .add_columns(POSITIONS.c.realized_pnl.label("position_pnl"), POSITIONS.c.bought_day)
    .add_columns(POSITIONS.c.bought_on_day)
    .outerjoin(POSITIONS, POSITIONS.c.account_id == ACCOUNTS.c.id)
    .where(
        ACCOUNTS.c.contest_id == bindparam("contest"),
        ACCOUNTS.c.member_id.in_(bindparam("members", expanding=True)),
    )
    .order_by(ACCOUNTS.c.id)
)
# The accounts' rows only: positions are written under their account's lock.
_LOCKED_ENTRIES = _ENTRIES.with_for_update(of=ACCOUNTS)


class TradingRepository(OrdersRepository):
    """Contests' trading state, accounts, positions and books; orders, fills and equity marks
    come from ``OrdersRepository``."""

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

    def contest_head(self, contest_id: int) -> ContestHead | None:
        """What a cached leaderboard page needs of a contest (its tick, its invite code), as
        one plain row: none of the JSON columns decoded, nothing in the identity map."""
        c = ContestRow.__table__.c
        stmt = select(c.id, c.clock_ticks, c.clock_day, c.invite_code).where(c.id == contest_id)
        found = self.session.execute(stmt).one_or_none()
        return None if found is None else ContestHead(*found)

    def venue_row(self, contest_id: int) -> VenueRow | None:
        """What the contest's venue is built from (``VenueRow``), or None without a contest."""
        found = self.session.connection().execute(_VENUE, {"contest": contest_id}).one_or_none()
        return None if found is None else VenueRow(*found)

    def contest_ids(self) -> list[int]:
        """Every contest's id, in order."""
        return list(self.session.scalars(select(ContestRow.id).order_by(ContestRow.id)))

    def running_contests(self) -> list[ContestRow]:
        """Contests whose clock has not reached the end of their trading window (a minute
        contest: whose intraday clock has not closed its last session)."""
        c = ContestRow
        minute = c.bar_interval == "minute"
        stmt = select(c).where(
            c.clock_day.is_(None)
            | (~minute & (c.clock_day < c.trading_end))
            | (minute & (c.closed_day.is_(None) | (c.closed_day < c.trading_end)))
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

    def entries_of(
        self, contest_id: int, member_ids: Iterable[int], *, lock: bool = False
    ) -> dict[int, Portfolio]:
        """member id → the portfolio of their account (every stored position, closed ones
        included), for those of ``member_ids`` with one in the contest: accounts and
        positions in one statement, the accounts locked in id order (``accounts_of``)."""
        wanted = sorted(set(member_ids))
        if not wanted:
            return {}
        stmt = _LOCKED_ENTRIES if lock else _ENTRIES
        found: dict[int, Portfolio] = {}
        rows = self.session.connection().execute(stmt, {"contest": contest_id, "members": wanted})
        for row in rows:
            portfolio = found.get(row.member_id)
            if portfolio is None:
                portfolio = found[row.member_id] = Portfolio(
                    account_id=row.id,
                    starting_cash=row.starting_cash,
                    cash=row.cash,
                    fees_paid=row.fees_paid,
                    realized_pnl=row.realized_pnl,
                )
            if row.symbol is not None:
                portfolio.positions[row.symbol] = Position(
                    row.symbol,
                    row.qty,
                    row.cost_basis,
                    row.position_pnl,
                    row.bought_day,
                    row.bought_on_day,
                )
        return found

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

    # corporate actions

    def holders(self, contest_id: int, symbols: Iterable[str]) -> list[int]:
        """Accounts of the contest with a non-zero position in any of ``symbols``, by id."""
        wanted = list(set(symbols))
        if not wanted:
            return []
        stmt = (
            select(PositionRow.account_id)
            .join(AccountRow, AccountRow.id == PositionRow.account_id)
            .where(
                AccountRow.contest_id == contest_id,
                PositionRow.symbol.in_(wanted),
                PositionRow.qty != 0,
            )
            .distinct()
            .order_by(PositionRow.account_id)
        )
        return list(self.session.scalars(stmt))

    def applied(
        self, account_ids: Iterable[int], action_ids: Iterable[int]
    ) -> set[tuple[int, int]]:
        """(account, action) pairs among these already applied."""
        accounts, actions = list(set(account_ids)), list(set(action_ids))
        if not accounts or not actions:
            return set()
        a = ActionApplicationRow
        stmt = select(a.account_id, a.action_id).where(
            a.account_id.in_(accounts), a.action_id.in_(actions)
        )
        return {(account, action) for account, action in self.session.execute(stmt)}

    def add_applications(self, contest_id: int, applications: Sequence[Application]) -> None:
        """Record applied actions; the (account, action) key refuses a second application."""
        if not applications:
            return
        self.session.connection().execute(
            APPLICATIONS.insert(),
            [
                {
                    "account_id": a.account_id,
                    "action_id": a.action_id,
                    "contest_id": contest_id,
                    "day": a.day,
                    "reference_price": a.reference,
                    "whole_shares": a.whole_shares,
                    "qty_before": a.entitlement.qty_before,
                    "qty_after": a.entitlement.qty_after,
                    "cash": a.entitlement.cash,
                    "released_cost": a.entitlement.released_cost,
                }
                for a in applications
            ],
        )

    def applications_of(self, account_id: int) -> list[Application]:
        """The account's applied actions, by day, in the order they were applied."""
        a = ActionApplicationRow
        rows = self.session.scalars(
            select(a).where(a.account_id == account_id).order_by(a.day, a.action_id)
        )
        return [
            Application(
                account_id=row.account_id,
                action_id=row.action_id,
                day=row.day,
                reference=row.reference_price,
                whole_shares=row.whole_shares,
                entitlement=Entitlement(row.qty_before, row.qty_after, row.cash, row.released_cost),
            )
            for row in rows
        ]

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
