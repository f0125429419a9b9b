"""Operators inspect and correct the ledger: trial balance, verification, adjustments, reversals."""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Header, Path, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import GroupCommitsDep, LedgerUow, OperatorUser
from api.http.group_commits import GRANTS
from api.http.problems import problem_doc
from api.http.schemas.ledger import GrantIn, ReversalIn, TransferOut, TrialBalanceOut, VerifyOut
from core.errors import RuleViolation
from ledger import services
from ledger.model import ISSUANCE, XP, TransferRequest, points_account, xp_account

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
    },
)

# The key becomes part of the transfer id (≤ 128 of [A-Za-z0-9_.:@/-]); the prefix
# "adjustment:<operator id>:" takes at most 22 characters.
IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=r"^[A-Za-z0-9_.:@/-]{1,100}$",
        description="Makes the grant's transfer id `adjustment:<operator id>:<key>`, so a "
        "retry never grants twice: 1-100 letters, digits and `_.:@/-`.",
    ),
]
TransferIdPath = Annotated[str, Path(min_length=1, max_length=160)]


@router.get("/ledger/trial-balance", response_model=TrialBalanceOut)
def trial_balance(_: OperatorUser, uow: LedgerUow) -> TrialBalanceOut:
    """Per-asset totals and every account's balance; a sound ledger sums to zero."""
    return TrialBalanceOut.of(services.trial_balance(uow))


@router.get("/ledger/verify", response_model=VerifyOut)
def verify(_: OperatorUser, uow: LedgerUow) -> VerifyOut:
    """Recompute the hash chain and all balances from the transfers; list every mismatch."""
    return VerifyOut.of(services.verify(uow))


@router.post(
    "/points/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferOut,
    responses={
        409: problem_doc("Idempotency-Key reused with a different grant"),
        422: problem_doc("Invalid grant, or the member has too little to debit"),
    },
)
@audited("points.grant", subject="member:{body.member_id}", state=states.member_balances)
def grant(
    body: GrantIn,
    operator: OperatorUser,
    combiners: GroupCommitsDep,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut:
    """Adjust a member's points or XP by hand, recording the operator and the note."""
    request = adjustment(body, operator_id=operator.id, key=idempotency_key)
    return TransferOut.of(combiners.grants.submit(GRANTS, request))


def adjustment(body: GrantIn, *, operator_id: int, key: str | None) -> TransferRequest:
    """The ledger transfer for a grant: from ``system:issuance`` to the member, or back."""
    if body.asset == XP and body.amount < 0:
        raise RuleViolation(
            "XP is never debited; it only accumulates", field="amount", rule="xp_never_debited"
        )
    account = xp_account(body.member_id) if body.asset == XP else points_account(body.member_id)
    debit, credit = (ISSUANCE, account) if body.amount > 0 else (account, ISSUANCE)
    return TransferRequest(
        id=f"adjustment:{operator_id}:{key}" if key else f"adjustment:{uuid4().hex}",
        debit=debit,
        credit=credit,
        asset=body.asset,
        amount=abs(body.amount),
        reason="adjustment",
        reference=body.reference or "",
        metadata={"operator_id": operator_id, "note": body.reason},
    )


@router.post(
    # ``:path`` because transfer ids may contain "/".
    "/transfers/{transfer_id:path}/reversal",
    status_code=status.HTTP_201_CREATED,
    response_model=TransferOut,
    responses={
        404: problem_doc("No such transfer"),
        409: problem_doc("Already reversed, or Idempotency-Key conflict"),
        422: problem_doc("Not reversible (a hold or a reversal), or too little left to take back"),
    },
)
@audited("transfer.reverse", subject="transfer:{transfer_id}")
def reverse(
    transfer_id: TransferIdPath, _: OperatorUser, uow: LedgerUow, body: ReversalIn | None = None
) -> TransferOut:
    """Undo a posted transfer with an opposite one; a transfer is reversed at most once."""
    reference = body.reference if body is not None and body.reference else ""
    return TransferOut.of(
        services.reverse(uow, transfer_id, reason="reversal", reference=reference)
    )
