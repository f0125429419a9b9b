"""Reading the ledger: balances now and as they stood, account history, the trial balance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.model import AccountId, Asset, Balance, Transfer
from ledger.services.unit_of_work import LedgerUnitOfWork


def balance(uow: LedgerUnitOfWork, account: AccountId, asset: Asset) -> Balance:
    with uow.reading():
        return uow.ledger.balance(account, asset)


def balance_at(uow: LedgerUnitOfWork, account: AccountId, asset: Asset, at: datetime) -> int:
    """The posted balance as it stood at ``at``, replayed from the transfers."""
    with uow.reading():
        return uow.ledger.posted_balance_at(account, asset, at)


def history(
    uow: LedgerUnitOfWork, accounts: Sequence[AccountId], *, before_seq: int | None, limit: int
) -> tuple[list[Transfer], int | None]:
    """Transfers touching ``accounts``, newest first, and the cursor of the next page."""
    with uow.reading():
        page = uow.ledger.history(accounts, before_seq=before_seq, limit=limit + 1)
    if len(page) <= limit:
        return page, None
    return page[:limit], page[limit - 1].seq


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """Posted totals per asset over all accounts; a sound ledger has every total at zero."""

    totals: dict[Asset, int]
    pending_totals: dict[Asset, int]
    accounts: dict[tuple[AccountId, Asset], Balance]

    @property
    def balanced(self) -> bool:
        return not any(self.totals.values()) and not any(self.pending_totals.values())


def trial_balance(uow: LedgerUnitOfWork) -> TrialBalance:
    with uow.reading(snapshot=True):
        balances = uow.ledger.balances()
    return trial_of(balances)


def trial_of(balances: dict[tuple[AccountId, Asset], Balance]) -> TrialBalance:
    """Posted and pending totals per asset of ``balances``."""
    totals: dict[Asset, int] = {}
    pending: dict[Asset, int] = {}
    for (_, asset), bal in balances.items():
        totals[asset] = totals.get(asset, 0) + bal.posted
        pending[asset] = pending.get(asset, 0) + bal.credits_pending - bal.debits_pending
    return TrialBalance(totals, pending, balances)
