"""Verifiable contests: the locked official rules, members' results certificates, and a public
verifier for both (the same checks anyone can run with OpenZeppelin's merkle-tree and an RPC)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.http.chain_deps import ContentChainDep, ContentUow
from api.http.deps import CurrentUser, EngineUow, VisibleContestId
from api.http.problems import problem_doc
from api.http.schemas.content import VerdictOut
from api.http.schemas.verifiable import (
    AttestationCertificateOut,
    ContestCertificateIn,
    OfficialRulesOut,
)
from contracts.attestations import parse_attestation_certificate
from notary import contests as notary

router = APIRouter(tags=["contests"])


@router.get(
    "/contests/{contest_id}/rules",
    response_model=OfficialRulesOut,
    responses={
        401: problem_doc("Not authenticated"),
        404: problem_doc("No contest"),
        409: problem_doc("Trading has not started: the rules are not locked (`rules_not_locked`)"),
    },
)
def official_rules(
    contest_id: VisibleContestId, _: CurrentUser, engine: EngineUow, content: ContentUow
) -> OfficialRulesOut:
    """The contest's locked rules document, its SHA-256 and its anchoring on chain."""
    return OfficialRulesOut.of(notary.official_rules(engine, content, contest_id))


@router.get(
    "/contests/{contest_id}/results/certificate",
    response_model=AttestationCertificateOut,
    responses={
        401: problem_doc("Not authenticated"),
        404: problem_doc("No contest, or the caller has no result in it"),
        409: problem_doc("Not settled (`not_settled`) or not anchored yet (`not_anchored`)"),
    },
)
def results_certificate(
    contest_id: VisibleContestId, user: CurrentUser, engine: EngineUow, content: ContentUow
) -> JSONResponse:
    """The caller's rank-and-prize certificate, as a downloadable file."""
    certificate = notary.results_certificate(engine, content, contest_id, user.id)
    filename = f"paperleague-contest-{contest_id}-result-{user.id}.json"
    return JSONResponse(
        certificate.to_json(),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/contests/certificates/verify",
    response_model=VerdictOut,
    responses={422: problem_doc("Malformed certificate (names the field)")},
)
async def verify_contest_certificate(
    body: ContestCertificateIn, chain: ContentChainDep
) -> VerdictOut:
    """Check a contest rules or results certificate offline and against the chain; public."""
    certificate = parse_attestation_certificate(body.certificate)
    reader = await run_in_threadpool(chain.reader)
    verdict = await run_in_threadpool(notary.verify_contest_certificate, certificate, reader)
    return VerdictOut.of(verdict)
