"""Leaderboards: every clock tick ranks all entries of a contest and stores a snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from engine.store import AccountRow, ContestRow

if TYPE_CHECKING:
    from engine.services import TradingUnitOfWork


def record_tick(
    uow: TradingUnitOfWork,
    contest: ContestRow,
    day: date,
    accounts: Sequence[AccountRow],
    equity: Sequence[Decimal],
) -> None:
    """Rank the contest after the tick ``contest.clock_ticks`` (already advanced) inside the
    clock's open transaction. ``equity`` is aligned with ``accounts``. (Being built.)"""
