"""The trading package's invariants, for the check registry (``core.checks``)."""

from __future__ import annotations

from core.checks import Check, DatabaseContext
from engine.trading.services import check_books
from engine.trading.uow import TradingUnitOfWork


def books_equal_fills(context: DatabaseContext) -> list[str]:
    """Every contest's stored cash and positions against a replay of its fills."""
    uow = TradingUnitOfWork(context.sessions)
    with uow.reading():
        contest_ids = uow.trading.contest_ids()
    return [f"contest {c}: {p}" for c in contest_ids for p in check_books(uow, c)]


CHECKS: list[Check[DatabaseContext]] = [
    Check(
        name="trading.books",
        package="engine.trading",
        description="each account's cash and positions equal a replay of its fills",
        problems=books_equal_fills,
    ),
]
