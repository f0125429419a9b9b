"""Campaigns and experiments, for operators: budgets with what is spent and left, grants
through a campaign, A/B tests and their measured lift. Members see only the effects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.http.audit import audited
from api.http.deps import CampaignUow, OperatorUser
from api.http.problems import problem_doc
from api.http.schemas.campaigns import (
    KEY,
    CampaignIn,
    CampaignOut,
    ExperimentIn,
    ExperimentOut,
    ExperimentResultsOut,
    GrantIn,
    GrantOut,
)
from core.audit.model import JsonValue
from core.db import Database
from ledger.campaigns import services as campaigns
from ledger.campaigns.uow import CampaignUnitOfWork

router = APIRouter(
    prefix="/admin",
    tags=["admin: campaigns"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
KeyPath = Annotated[str, Path(pattern=KEY)]


def campaign_state(database: Database, key: str) -> JsonValue:
    """A campaign with its budget spent and left (the audit log's before and after)."""
    found = campaigns.get_campaign(CampaignUnitOfWork(database.sessions), key)
    return CampaignOut.of(found).model_dump(mode="json")


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, response_model=CampaignOut)
@audited("campaign.create", subject="campaign:{result.key}", state=campaign_state)
def create_campaign(body: CampaignIn, operator: OperatorUser, uow: CampaignUow) -> CampaignOut:
    """Set up a campaign with its whole budget left."""
    made = campaigns.create_campaign(uow, body.to_spec(), operator_id=operator.id)
    return CampaignOut.of(made)


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(_: OperatorUser, uow: CampaignUow) -> list[CampaignOut]:
    """Every campaign with its budget spent and remaining."""
    return [CampaignOut.of(c) for c in campaigns.list_campaigns(uow)]


@router.post(
    "/campaigns/{key}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantOut,
    responses={
        404: problem_doc("No such campaign"),
        409: problem_doc("campaign_budget_exhausted or frequency_cap_reached"),
    },
)
@audited("campaign.grant", subject="campaign:{key}", state=campaign_state)
def grant(key: KeyPath, body: GrantIn, _: OperatorUser, uow: CampaignUow) -> GrantOut:
    """Pay a member one grant through the campaign, charged to its budget."""
    return GrantOut.of(campaigns.grant(uow, key, body.member_id, operation=body.operation))


@router.post("/experiments", status_code=status.HTTP_201_CREATED, response_model=ExperimentOut)
@audited("experiment.create", subject="experiment:{result.key}")
def create_experiment(
    body: ExperimentIn, operator: OperatorUser, uow: CampaignUow
) -> ExperimentOut:
    """Set up an A/B test; members get a sticky variant at their first exposure."""
    return ExperimentOut.of(
        campaigns.create_experiment(uow, body.to_spec(), operator_id=operator.id)
    )


@router.get("/experiments", response_model=list[ExperimentOut])
def list_experiments(_: OperatorUser, uow: CampaignUow) -> list[ExperimentOut]:
    """Every experiment with its variants."""
    return [ExperimentOut.of(e) for e in campaigns.list_experiments(uow)]


@router.get(
    "/experiments/{key}/results",
    response_model=ExperimentResultsOut,
    responses={404: problem_doc("No such experiment")},
)
def experiment_results(key: KeyPath, _: OperatorUser, uow: CampaignUow) -> ExperimentResultsOut:
    """Per variant: participation, D1 / D7 retention and the lift over the control ± 95 % CI."""
    return ExperimentResultsOut.of(campaigns.experiment_results(uow, key))
