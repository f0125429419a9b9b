"""SQL aggregation for operator analytics: every figure is a GROUP BY on the database.

Days are bucketed as whole days since 1970-01-01 (UTC for timestamps, the member's local date
for check-ins), weeks as ``(day + 3) // 7`` (Monday-started, see ``model.week_number``): integer
arithmetic both SQLite and PostgreSQL do alike. Each query takes ``user_ids`` (a segment's
members, or None for everyone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core.users.store import UserRow
from engine.analytics.model import (
    EPOCH_MONDAY,
    DayActivity,
    IssuedPoints,
    Population,
    RedeemedItem,
    Window,
)
from engine.trading.store import AccountRow, FillRow, OrderRow
from ledger.model import ISSUANCE, POINTS, TransferKind, points_account
from ledger.store.balances import BalanceRow
from ledger.store.engagement import CheckInRow, RedemptionRow, RewardItemRow
from ledger.store.transfers import TransferRow

EPOCH = date(1970, 1, 1)
MEMBER_POINTS = "member:%:points"
CANCELLING = (TransferKind.VOID_PENDING.value, TransferKind.EXPIRE_PENDING.value)


class utc_day(FunctionElement[int]):
    """Whole UTC days since 1970-01-01 of a timestamp column."""

    type = Integer()
    inherit_cache = True


class iso_day(FunctionElement[int]):
    """Whole days since 1970-01-01 of a YYYY-MM-DD text column."""

    type = Integer()
    inherit_cache = True


@compiles(utc_day, "sqlite")
@compiles(iso_day, "sqlite")
def _sqlite_day(element: FunctionElement[int], compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text; julianday() of 1970-01-01 00:00 is 2440587.5.
    (arg,) = element.clauses
    return f"CAST(julianday({compiler.process(arg, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(utc_day, "postgresql")
def _pg_utc_day(element: FunctionElement[int], compiler: SQLCompiler, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"(CAST(({compiler.process(arg, **kw)} AT TIME ZONE 'UTC') AS DATE) - DATE '1970-01-01')"


@compiles(iso_day, "postgresql")
def _pg_iso_day(element: FunctionElement[int], compiler: SQLCompiler, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"(CAST({compiler.process(arg, **kw)} AS DATE) - DATE '1970-01-01')"


def week_of(day_number: ColumnElement[int]) -> ColumnElement[int]:
    """Monday-started week number of a day number (1970-01-01 was a Thursday)."""
    offset = (EPOCH - EPOCH_MONDAY).days
    return (day_number + offset) // 7


def day_number(day: date) -> int:
    return (day - EPOCH).days


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _end(window: Window) -> datetime:
    return _start(window.last + timedelta(days=1))


def _in(column: Any, user_ids: Population) -> ColumnElement[bool]:
    return literal(True) if user_ids is None else column.in_(_listed(sorted(user_ids)))


def _listed(values: list[Any]) -> BindParameter[Any]:
    # Rendered into the SQL text, not one bound variable per member: a segment of any size
    # stays inside SQLite's variable limit (the values are ints and account names we built).
    return bindparam(None, values, expanding=True, literal_execute=True)


class AnalyticsRepository:
    """Read-only aggregates over users, the ledger, contest entries, orders and check-ins."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- activity ---------------------------------------------------------------------------

    def _activity(self, window: Window, user_ids: Population) -> Select[Any]:
        """(member, day number, kind) of every check-in, order and redemption in the window."""
        first, last = window.first.isoformat(), window.last.isoformat()
        check_ins = select(
            CheckInRow.member_id.label("member_id"),
            iso_day(CheckInRow.local_date).label("day"),
            literal("check_in").label("kind"),
        ).where(
            CheckInRow.local_date >= first,
            CheckInRow.local_date <= last,
            _in(CheckInRow.member_id, user_ids),
        )
        orders = (
            select(
                AccountRow.member_id.label("member_id"),
                utc_day(OrderRow.created_at).label("day"),
                literal("order").label("kind"),
            )
            .join(AccountRow, AccountRow.id == OrderRow.account_id)
            .where(
                OrderRow.created_at >= _start(window.first),
                OrderRow.created_at < _end(window),
                _in(AccountRow.member_id, user_ids),
            )
        )
        redemptions = select(
            RedemptionRow.member_id.label("member_id"),
            utc_day(RedemptionRow.created_at).label("day"),
            literal("redemption").label("kind"),
        ).where(
            RedemptionRow.created_at >= _start(window.first),
            RedemptionRow.created_at < _end(window),
            _in(RedemptionRow.member_id, user_ids),
        )
        # UNION ALL keeps one row per event (the per-kind counts need them).
        return check_ins.union_all(orders, redemptions)  # type: ignore[return-value]

    def members_by(self, day: date, user_ids: Population) -> int:
        """Members signed up by the end of ``day``."""
        end = _start(day + timedelta(days=1))
        query = select(func.count()).where(UserRow.created_at < end, _in(UserRow.id, user_ids))
        return int(self.session.scalar(query) or 0)

    def active_members(self, window: Window, user_ids: Population) -> int:
        events = self._activity(window, user_ids).subquery()
        query = select(func.count(func.distinct(events.c.member_id)))
        return int(self.session.scalar(query) or 0)

    def activity_by_day(self, window: Window, user_ids: Population) -> dict[date, DayActivity]:
        """Per day: distinct active members and counts of each kind of event, and sign-ups."""
        events = self._activity(window, user_ids).subquery()

        def count_of(kind: str) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((events.c.kind == kind, 1), else_=0)), 0)

        rows = self.session.execute(
            select(
                events.c.day,
                func.count(func.distinct(events.c.member_id)),
                count_of("check_in"),
                count_of("order"),
                count_of("redemption"),
            ).group_by(events.c.day)
        ).all()
        sign_ups = self.sign_ups_by_day(window, user_ids)
        days: dict[date, DayActivity] = {}
        for number, active, check_ins, orders, redemptions in rows:
            day = EPOCH + timedelta(days=int(number))
            days[day] = DayActivity(
                day,
                int(active),
                int(check_ins),
                int(orders),
                int(redemptions),
                sign_ups.pop(day, 0),
            )
        for day, count in sign_ups.items():
            days[day] = DayActivity(day, 0, 0, 0, 0, count)
        return days

    def sign_ups_by_day(self, window: Window, user_ids: Population) -> dict[date, int]:
        number = utc_day(UserRow.created_at)
        rows = self.session.execute(
            select(number, func.count())
            .where(*self._signed_up_in(window, user_ids))
            .group_by(number)
        ).all()
        return {EPOCH + timedelta(days=int(n)): int(count) for n, count in rows}

    @staticmethod
    def _signed_up_in(window: Window, user_ids: Population) -> list[ColumnElement[bool]]:
        return [
            UserRow.created_at >= _start(window.first),
            UserRow.created_at < _end(window),
            _in(UserRow.id, user_ids),
        ]

    # --- retention --------------------------------------------------------------------------

    def cohort_sizes(self, window: Window, user_ids: Population) -> dict[int, int]:
        """Week number → members who signed up that week (inside the window)."""
        week = week_of(utc_day(UserRow.created_at))
        rows = self.session.execute(
            select(week, func.count()).where(*self._signed_up_in(window, user_ids)).group_by(week)
        ).all()
        return {int(w): int(n) for w, n in rows}

    def retention_cells(self, window: Window, user_ids: Population) -> dict[tuple[int, int], int]:
        """(sign-up week, active week) → distinct members of that cohort active that week."""
        events = self._activity(window, user_ids).subquery()
        active = union(select(events.c.member_id, week_of(events.c.day).label("week"))).subquery()
        cohort = (
            select(
                UserRow.id.label("member_id"), week_of(utc_day(UserRow.created_at)).label("week")
            )
            .where(*self._signed_up_in(window, user_ids))
            .subquery()
        )
        rows = self.session.execute(
            select(cohort.c.week, active.c.week, func.count(func.distinct(active.c.member_id)))
            .join(active, active.c.member_id == cohort.c.member_id)
            .where(active.c.week >= cohort.c.week)
            .group_by(cohort.c.week, active.c.week)
        ).all()
        return {(int(c), int(a)): int(n) for c, a, n in rows}

    # --- the funnel -------------------------------------------------------------------------

    def funnel_counts(
        self, window: Window, user_ids: Population, *, streak: int
    ) -> tuple[int, int, int, int, int]:
        """Members signed up in the window, and how many of them reached each later stage and
        every stage before it (ever, not only inside the window)."""
        member = UserRow.id
        joined = exists().where(AccountRow.member_id == member)
        traded = exists(
            select(FillRow.id)
            .join(AccountRow, AccountRow.id == FillRow.account_id)
            .where(AccountRow.member_id == member)
        )
        kept_streak = exists().where(CheckInRow.member_id == member, CheckInRow.streak >= streak)
        redeemed = exists().where(RedemptionRow.member_id == member)
        stages = [joined, traded, kept_streak, redeemed]
        sums = [
            func.coalesce(func.sum(case((and_(*stages[: n + 1]), 1), else_=0)), 0)
            for n in range(len(stages))
        ]
        row = self.session.execute(
            select(func.count(), *sums).where(*self._signed_up_in(window, user_ids))
        ).one()
        total, a, b, c, d = (int(value) for value in row)
        return total, a, b, c, d

    # --- points -----------------------------------------------------------------------------

    def points_balances(self, user_ids: Population) -> tuple[int, int, int, int]:
        """(holders with posted points, credits posted, debits posted, debits pending) summed
        over member points accounts (``ledger_balances``: the ledger's own derived totals)."""
        posted = BalanceRow.credits_posted - BalanceRow.debits_posted
        accounts = (
            BalanceRow.account.like(MEMBER_POINTS)
            if user_ids is None
            else BalanceRow.account.in_(_listed(sorted(points_account(m) for m in user_ids)))
        )
        row = self.session.execute(
            select(
                func.coalesce(func.sum(case((posted > 0, 1), else_=0)), 0),
                func.coalesce(func.sum(BalanceRow.credits_posted), 0),
                func.coalesce(func.sum(BalanceRow.debits_posted), 0),
                func.coalesce(func.sum(BalanceRow.debits_pending), 0),
            ).where(BalanceRow.asset == POINTS, accounts)
        ).one()
        holders, credits, debits, pending = (int(value) for value in row)
        return holders, credits, debits, pending

    def issued_points(self, window: Window, user_ids: Population) -> tuple[IssuedPoints, ...]:
        """Points posted from issuance to member points accounts inside the window, by reason."""
        accounts = (
            TransferRow.credit_account.like(MEMBER_POINTS)
            if user_ids is None
            else TransferRow.credit_account.in_(
                _listed(sorted(points_account(m) for m in user_ids))
            )
        )
        rows = self.session.execute(
            select(TransferRow.reason, func.sum(TransferRow.amount), func.count())
            .where(
                TransferRow.kind == TransferKind.POSTED.value,
                TransferRow.debit_account == ISSUANCE,
                TransferRow.asset == POINTS,
                accounts,
                TransferRow.created_at >= _start(window.first),
                TransferRow.created_at < _end(window),
            )
            .group_by(TransferRow.reason)
            .order_by(TransferRow.reason)
        ).all()
        return tuple(IssuedPoints(reason, int(points), int(n)) for reason, points, n in rows)

    def redeemed_items(self, window: Window, user_ids: Population) -> tuple[RedeemedItem, ...]:
        """Redemptions made inside the window, by item, leaving out cancelled (voided) and
        expired holds."""
        cancelled = exists().where(
            TransferRow.pending_id == RedemptionRow.points_transfer_id,
            TransferRow.kind.in_(CANCELLING),
        )
        rows = self.session.execute(
            select(RewardItemRow.key, func.count(), func.sum(RedemptionRow.cost_points))
            .join(RewardItemRow, RewardItemRow.id == RedemptionRow.item_id)
            .where(
                ~cancelled,
                RedemptionRow.created_at >= _start(window.first),
                RedemptionRow.created_at < _end(window),
                _in(RedemptionRow.member_id, user_ids),
            )
            .group_by(RewardItemRow.key)
            .order_by(RewardItemRow.key)
        ).all()
        return tuple(RedeemedItem(key, int(n), int(points)) for key, n, points in rows)
