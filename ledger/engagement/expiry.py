"""The daily expiry, as the earning rules say: lapsed holds released, old points expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.clock import utc_now
from ledger.engagement.configuration import current_rules
from ledger.model import Transfer
from ledger.services.expiry import expire_holds, expire_points
from ledger.services.unit_of_work import LedgerUnitOfWork


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """``holds`` released; ``expired`` one transfer per member; ``days`` the rules' points
    lifetime (None: points never expire)."""

    holds: tuple[Transfer, ...]
    expired: tuple[Transfer, ...]
    days: int | None

    @property
    def points_expired(self) -> int:
        return sum(t.amount for t in self.expired)


def expire_due(uow: LedgerUnitOfWork, *, now: datetime | None = None) -> ExpiryReport:
    """Release holds lapsed by ``now`` and expire points older than the earning rules'
    ``points_expiry_days`` (the CLI's ``ledger expire`` and the worker's daily job)."""
    moment = now or utc_now()
    holds = expire_holds(uow, now=moment)
    with uow.reading():
        days = current_rules(uow).points_expiry_days
    expired = [] if days is None else expire_points(uow, days=days, now=moment)
    return ExpiryReport(tuple(holds), tuple(expired), days)
