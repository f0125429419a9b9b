"""Request and response bodies of the ledger's operator routes, apart from the ledger records.

Amounts are whole numbers (points, XP) and parse strictly: ``5.0`` or ``"5"`` is a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from ledger.model import MAX_AMOUNT, Balance, Transfer, TransferKind
from ledger.services import TrialBalance, VerifyReport

MAX_MEMBER_ID = 2_147_483_647  # ids are 32-bit on PostgreSQL
MAX_REFERENCE_LENGTH = 256  # the ledger's own limit, checked here so it is a 422 naming the field


def _non_zero(amount: int) -> int:
    if amount == 0:
        raise PydanticCustomError("non_zero", "amount must not be zero")
    return amount


Amount = Annotated[
    int,
    Field(
        strict=True,
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        examples=[500, -200],
        description="Positive credits the member, negative debits the member; never zero.",
    ),
    AfterValidator(_non_zero),
]
MemberId = Annotated[int, Field(strict=True, ge=1, le=MAX_MEMBER_ID, examples=[42])]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reference = Annotated[str, Field(max_length=MAX_REFERENCE_LENGTH)]


class GrantIn(BaseModel):
    """A manual adjustment of one member's points or XP, against ``system:issuance``."""

    member_id: MemberId
    asset: Literal["POINTS", "XP"]
    amount: Amount
    reason: Note = Field(description="Why the operator adjusts; kept as the transfer's note.")
    reference: Reference | None = None


class ReversalIn(BaseModel):
    reference: Reference | None = Field(
        default=None, description="Defaults to the reversed transfer's id."
    )


class TransferOut(BaseModel):
    id: str
    seq: int
    kind: TransferKind
    debit: str
    credit: str
    asset: str
    amount: int
    reason: str
    reference: str
    metadata: dict[str, Any]
    reversal_of: str | None
    created_at: datetime
    hash: str

    @classmethod
    def of(cls, transfer: Transfer) -> TransferOut:
        return cls(
            id=transfer.id,
            seq=transfer.seq,
            kind=transfer.kind,
            debit=transfer.debit,
            credit=transfer.credit,
            asset=transfer.asset,
            amount=transfer.amount,
            reason=transfer.reason,
            reference=transfer.reference,
            metadata=dict(transfer.metadata),
            reversal_of=transfer.reversal_of,
            created_at=transfer.created_at,
            hash=transfer.hash,
        )


class AccountBalanceOut(BaseModel):
    account: str
    asset: str
    posted: int
    available: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @classmethod
    def of(cls, account: str, asset: str, balance: Balance) -> AccountBalanceOut:
        return cls(
            account=account,
            asset=asset,
            posted=balance.posted,
            available=balance.available,
            debits_posted=balance.debits_posted,
            credits_posted=balance.credits_posted,
            debits_pending=balance.debits_pending,
            credits_pending=balance.credits_pending,
        )


class TrialBalanceOut(BaseModel):
    totals: dict[str, int] = Field(description="Posted balances summed per asset; zero if sound.")
    pending_totals: dict[str, int] = Field(
        description="Pending credits minus pending debits per asset; zero if sound."
    )
    balanced: bool
    accounts: list[AccountBalanceOut] = Field(description="Every account, by account then asset.")

    @classmethod
    def of(cls, trial: TrialBalance) -> TrialBalanceOut:
        return cls(
            totals=trial.totals,
            pending_totals=trial.pending_totals,
            balanced=trial.balanced,
            accounts=[
                AccountBalanceOut.of(account, asset, trial.accounts[(account, asset)])
                for account, asset in sorted(trial.accounts)
            ],
        )


class VerifyOut(BaseModel):
    ok: bool
    transfers: int
    head_seq: int
    errors: list[str] = Field(description="Each mismatch found; empty when ``ok``.")

    @classmethod
    def of(cls, report: VerifyReport) -> VerifyOut:
        return cls(
            ok=report.ok,
            transfers=report.transfers,
            head_seq=report.head_seq,
            errors=list(report.errors),
        )
