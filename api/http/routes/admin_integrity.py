"""Operators review one-person-one-entry findings: scan, list cases, read evidence, decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import EngineUow, IdPath, OperatorUser, PageParams, SettingsDep
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.integrity import (
    CaseOut,
    DecisionIn,
    PersonOut,
    ScanIn,
    ScanOut,
    SignalOut,
)
from core.pagination import decode_cursor, encode_cursor
from engine.integrity import services
from engine.integrity.model import CaseStatus, Decision

router = APIRouter(
    prefix="/admin/integrity",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
    },
)


@router.post("/scan", response_model=ScanOut, responses={404: problem_doc("No such contest")})
@audited("integrity.scan", subject="integrity:cases", state=states.integrity_cases)
def scan(body: ScanIn, _: OperatorUser, uow: EngineUow, settings: SettingsDep) -> ScanOut:
    """Run the detectors and open a case for every new finding."""
    report = services.scan(
        uow, contest_ids=body.contest_ids, settings=services.detector_settings(settings)
    )
    return ScanOut.of(report)


@router.get("/cases", response_model=Page[CaseOut])
def list_cases(
    _: OperatorUser,
    uow: EngineUow,
    page: PageParams,
    status: Annotated[CaseStatus | None, Query(description="Only cases in this state")] = None,
) -> Page[CaseOut]:
    """Review cases, newest first."""
    cases, last = services.list_cases(
        uow, status=status, after=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[CaseOut.of(case) for case in cases],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get("/cases/{case_id}", response_model=CaseOut, responses={404: problem_doc("No case")})
def get_case(case_id: IdPath, _: OperatorUser, uow: EngineUow) -> CaseOut:
    """One case with its evidence."""
    return CaseOut.of(services.get_case(uow, case_id))


@router.post(
    "/cases/{case_id}/decision",
    response_model=CaseOut,
    responses={404: problem_doc("No case"), 409: problem_doc("Already decided otherwise")},
)
@audited("integrity.decide", subject="integrity_case:{case_id}", state=states.integrity_case)
def decide(case_id: IdPath, body: DecisionIn, operator: OperatorUser, uow: EngineUow) -> CaseOut:
    """Decide a case: `same_person` links its accounts, `distinct` dismisses it for good."""
    case = services.decide(
        uow,
        case_id,
        decision=Decision(body.decision),
        reason=body.reason,
        operator_id=operator.id,
    )
    return CaseOut.of(case)


@router.get("/persons/{user_id}", response_model=PersonOut)
def person(user_id: IdPath, _: OperatorUser, uow: EngineUow) -> PersonOut:
    """The person behind an account and every account linked to it."""
    return PersonOut.of(services.person_of(uow, user_id))


@router.get("/users/{user_id}/signals", response_model=list[SignalOut])
def signals(user_id: IdPath, _: OperatorUser, uow: EngineUow) -> list[SignalOut]:
    """An account's recorded sign-ups and logins (address, device id, user-agent hash)."""
    return [SignalOut.of(signal) for signal in services.signals_of(uow, user_id)]
