"""Operators: levels, earning rules, the reward catalog and fulfilment of redemptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import LedgerUow, OperatorUser
from api.http.problems import problem_doc
from api.http.schemas.engagement import (
    EarningRulesIO,
    LevelIO,
    LevelsIn,
    LevelsOut,
    RedemptionOut,
    RewardIn,
    RewardOut,
)
from ledger import engagement

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
RedemptionId = Annotated[str, Path(max_length=160)]


@router.get("/levels", response_model=LevelsOut)
def get_levels(_: OperatorUser, uow: LedgerUow) -> LevelsOut:
    """The level table in force (version 0: the built-in default)."""
    with uow.reading():
        table = engagement.current_levels(uow)
    return LevelsOut(version=table.version, levels=[LevelIO.of(lv) for lv in table.levels])


@router.get("/earning-rules", response_model=EarningRulesIO)
def get_earning_rules(_: OperatorUser, uow: LedgerUow) -> EarningRulesIO:
    """The earning rules in force, in the shape PUT takes (edit and publish a new version)."""
    with uow.reading():
        return EarningRulesIO.of(engagement.current_rules(uow))


@router.put("/levels", response_model=LevelsOut)
@audited("levels.publish", subject="levels", state=states.levels)
def put_levels(body: LevelsIn, operator: OperatorUser, uow: LedgerUow) -> LevelsOut:
    """Publish a new version of the level table."""
    table = engagement.set_levels(
        uow, [level.to_level() for level in body.levels], operator_id=operator.id
    )
    return LevelsOut(version=table.version, levels=[LevelIO.of(lv) for lv in table.levels])


@router.put("/earning-rules", response_model=EarningRulesIO)
@audited("earning_rules.publish", subject="earning_rules", state=states.earning_rules)
def put_earning_rules(
    body: EarningRulesIO, operator: OperatorUser, uow: LedgerUow
) -> EarningRulesIO:
    """Publish a new version of the earning rules (check-ins, tasks, referrals, expiry)."""
    return EarningRulesIO.of(
        engagement.set_earning_rules(uow, body.to_rules(), operator_id=operator.id)
    )


@router.post(
    "/rewards",
    status_code=status.HTTP_201_CREATED,
    response_model=RewardOut,
    responses={409: problem_doc("Item key taken")},
)
@audited("reward.create", subject="reward:{result.key}")
def create_reward(body: RewardIn, _: OperatorUser, uow: LedgerUow) -> RewardOut:
    """Add an item to the catalog with its initial stock."""
    item = engagement.create_item(uow, **body.model_dump())
    return RewardOut.of(item, body.stock)


def _resolve(redemption_id: str, uow: LedgerUow, *, fulfil: bool) -> RedemptionOut:
    return RedemptionOut.of(engagement.resolve_redemption(uow, redemption_id, fulfil=fulfil))


@router.post(
    "/redemptions/{redemption_id}/fulfil",
    response_model=RedemptionOut,
    responses={404: problem_doc("No such redemption"), 409: problem_doc("Not pending")},
)
@audited("redemption.fulfil", subject="redemption:{redemption_id}", state=states.redemption)
def fulfil(redemption_id: RedemptionId, _: OperatorUser, uow: LedgerUow) -> RedemptionOut:
    """Fulfil a pending redemption: the held points and stock are posted."""
    return _resolve(redemption_id, uow, fulfil=True)


@router.post(
    "/redemptions/{redemption_id}/cancel",
    response_model=RedemptionOut,
    responses={404: problem_doc("No such redemption"), 409: problem_doc("Not pending")},
)
@audited("redemption.cancel", subject="redemption:{redemption_id}", state=states.redemption)
def cancel(redemption_id: RedemptionId, _: OperatorUser, uow: LedgerUow) -> RedemptionOut:
    """Cancel a pending redemption: the held points and stock are released."""
    return _resolve(redemption_id, uow, fulfil=False)
