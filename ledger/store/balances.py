"""Mapping of the derived balances per (account, asset, stripe), kept for speed; ``verify``
proves them. A system account's balance is striped, one row per shard chain that moves it
(``ledger.shards.stripe_of``), so no row is written by every shard; its balance is the sum of
its stripes. Every other account has stripe 0 only."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from ledger.model import Balance


class BalanceRow(Base):
    """Derived totals per (account, asset, stripe), kept for speed; ``verify`` proves them."""

    __tablename__ = "ledger_balances"
    __table_args__ = (
        # Member and stock accounts never go negative, whatever the code above does.
        CheckConstraint(
            "account LIKE 'system:%' OR credits_posted - debits_posted - debits_pending >= 0",
            name="non_negative_unless_system",
        ),
    )

    account: Mapped[str] = mapped_column(String(96), primary_key=True)
    asset: Mapped[str] = mapped_column(String(80), primary_key=True)
    stripe: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)

    def to_balance(self) -> Balance:
        return Balance(
            self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        )


def balance_values(balance: Balance) -> dict[str, int]:
    return {
        "debits_posted": balance.debits_posted,
        "credits_posted": balance.credits_posted,
        "debits_pending": balance.debits_pending,
        "credits_pending": balance.credits_pending,
    }
