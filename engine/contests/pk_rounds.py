"""Team PK rounds on the contest clock: pair, judge, rate; round awards after commit."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from engine.store import ContestRow

if TYPE_CHECKING:
    from engine.services import TradingUnitOfWork


def on_tick(uow: TradingUnitOfWork, contest: ContestRow, day: date) -> None:
    """Inside the clock's open transaction, after standings were recorded. (Being built.)"""


def pay_round_awards(uow: TradingUnitOfWork, contest_id: int) -> int:
    """Pay pending PK round awards, each in its own transaction (idempotent). (Being built.)"""
    return 0
