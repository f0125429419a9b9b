"""Settlement: operators pay a finished contest's prizes; members read the prize list."""

from __future__ import annotations

from fastapi import APIRouter

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import CurrentUser, EngineUow, IdPath, OperatorUser, VisibleContestId
from api.http.problems import problem_doc
from api.http.schemas.settlement import PrizeListOut, SettlementOut
from core.users.model import Role
from engine.contests import settlement

router = APIRouter(
    tags=["contests"],
    responses={401: problem_doc("Not authenticated"), 404: problem_doc("No contest")},
)


@router.post(
    "/admin/contests/{contest_id}/settlement",
    response_model=SettlementOut,
    tags=["admin: contests"],
    responses={
        403: problem_doc("Operators only"),
        409: problem_doc("The contest has not finished (`not-finished`)"),
    },
)
@audited("contest.settle", subject="contest:{contest_id}", state=states.prize_list)
def settle(contest_id: IdPath, _: OperatorUser, uow: EngineUow) -> SettlementOut:
    """Freeze a finished contest's prize list and pay every unpaid prize; safe to repeat."""
    return SettlementOut.of(settlement.settle_contest(uow, contest_id))


@router.get(
    "/contests/{contest_id}/prizes",
    response_model=PrizeListOut,
    responses={409: problem_doc("Not settled yet (`not-settled`; operators see it earlier)")},
)
def prizes(contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow) -> PrizeListOut:
    """The contest's prizes and whether each is paid."""
    found = settlement.prize_list(uow, contest_id, operator=user.has_any(Role.OPERATOR))
    return PrizeListOut.of(found)
