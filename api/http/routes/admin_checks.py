"""Operators run every invariant check: stored derived state against its derivation."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.checks import CheckContext, run_checks
from api.http.chain_deps import content_chain
from api.http.deps import DatabaseDep, OperatorUser
from api.http.problems import problem_doc
from api.http.schemas.checks import CheckReportOut

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
    },
)


@router.get("/checks", response_model=CheckReportOut)
def checks(_: OperatorUser, database: DatabaseDep, request: Request) -> CheckReportOut:
    """Run every invariant check; 200 even when some fail: `ok` and each check say which."""
    chain = content_chain(request.app)
    return CheckReportOut.of(run_checks(CheckContext(database.sessions, chain=chain.reader)))
