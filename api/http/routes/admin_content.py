"""Operators anchor pending content, inspect anchor batches, set the content policy, and decide
the content it held for review."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http import audit_states as states
from api.http.audit import audited
from api.http.chain_deps import ContentChainDep, ContentUow
from api.http.deps import EngineUow, IdPath, OperatorUser, PageParams, SettingsDep
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.content import (
    AnchorRunOut,
    BatchOut,
    DecisionIn,
    PolicyIO,
    ReviewCaseOut,
    TermsIO,
)
from contracts import anchoring, reviews, services
from contracts.content import ReviewReason, ReviewStatus, Verdict
from core.errors import NotFound
from core.pagination import decode_cursor, encode_cursor
from notary import contests as notary

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
    },
)


@router.post(
    "/anchors",
    response_model=AnchorRunOut,
    responses={
        403: problem_doc("Operators only, or the chain account lacks the anchorer role"),
        503: problem_doc("The chain failed; pending content stays pending, retry later"),
    },
)
@audited("content.anchor", subject="anchors")
def anchor_now(
    _: OperatorUser,
    uow: ContentUow,
    engine: EngineUow,
    chain: ContentChainDep,
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, le=anchoring.MAX_BATCH, description="Most pieces in the batch")
    ] = anchoring.MAX_BATCH,
) -> AnchorRunOut:
    """Anchor pending content and contest attestations now, then advance them to final."""
    registry = chain.registry()
    batch = anchoring.anchor_pending(uow, registry, limit=limit)
    finality = anchoring.refresh_finality(uow, registry, confirmations=settings.chain_confirmations)
    if batch is not None and batch.id in finality.finalized:
        batch = services.anchor_batch(uow, batch.id)
    attested = notary.notarize(engine, uow, registry, confirmations=settings.chain_confirmations)
    return AnchorRunOut.of(batch, finality, attested)


@router.get("/anchors", response_model=Page[BatchOut])
def list_anchors(_: OperatorUser, uow: ContentUow, page: PageParams) -> Page[BatchOut]:
    """Anchor batches, newest first: root, status, transaction, block and gas."""
    batches, last = services.anchor_batches(
        uow, before=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[BatchOut.of(b) for b in batches],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get("/content/compliance-terms", response_model=TermsIO)
def get_terms(_: OperatorUser, uow: ContentUow) -> TermsIO:
    """The prohibited claims content is screened for."""
    return TermsIO(terms=services.compliance_terms(uow))


@router.put(
    "/content/compliance-terms",
    response_model=TermsIO,
    responses={422: problem_doc("A blank or overlong term, or too many")},
)
@audited(
    "content.set_compliance_terms",
    subject="content:compliance_terms",
    state=states.compliance_terms,
)
def put_terms(body: TermsIO, _: OperatorUser, uow: ContentUow) -> TermsIO:
    """Replace the prohibited-claims list (duplicates, ignoring case, are dropped)."""
    return TermsIO(terms=services.set_compliance_terms(uow, body.terms))


@router.get("/content/policy", response_model=PolicyIO)
def get_policy(_: OperatorUser, uow: ContentUow) -> PolicyIO:
    """What happens to near-duplicates and prohibited claims: flag, review or block."""
    return PolicyIO.of(services.content_policy(uow))


@router.put(
    "/content/policy",
    response_model=PolicyIO,
    responses={422: problem_doc("Unknown action or threshold outside 0.50..1.00")},
)
@audited("content.set_policy", subject="content:policy", state=states.content_policy)
def put_policy(body: PolicyIO, _: OperatorUser, uow: ContentUow) -> PolicyIO:
    """Set the near-duplicate action and threshold and the compliance action."""
    return PolicyIO.of(services.set_content_policy(uow, body.to_policy()))


@router.get("/content/reviews", response_model=Page[ReviewCaseOut])
def list_reviews(
    _: OperatorUser,
    uow: ContentUow,
    page: PageParams,
    status: Annotated[
        ReviewStatus | None, Query(description="Only cases in this state (default: all)")
    ] = None,
    reason: Annotated[
        ReviewReason | None, Query(description="Only cases held for this reason")
    ] = None,
) -> Page[ReviewCaseOut]:
    """Content the policy held for review, oldest first, with its findings and decision."""
    cases, last = reviews.review_queue(
        uow, status=status, reason=reason, after=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[ReviewCaseOut.of(c) for c in cases],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.get(
    "/content/reviews/{content_id}",
    response_model=ReviewCaseOut,
    responses={404: problem_doc("No such piece, or it was not held for review")},
)
def get_review(content_id: IdPath, _: OperatorUser, uow: ContentUow) -> ReviewCaseOut:
    """One review case: the held piece, its findings and the decision once made."""
    registration = services.content(uow, content_id, author_id=None)
    if registration.review is None:
        raise NotFound(f"content {content_id} is not held for review")
    return ReviewCaseOut.of(registration)


_DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No such piece, or it was not held for review"),
    409: problem_doc("Already decided (a retry of the same decision returns it instead)"),
    422: problem_doc("The reason is missing, blank or too long"),
}


def _decide(
    content_id: int, verdict: Verdict, body: DecisionIn, operator_id: int, uow: ContentUow
) -> ReviewCaseOut:
    reviews.decide(uow, content_id, verdict, operator_id=operator_id, reason=body.reason)
    return ReviewCaseOut.of(services.content(uow, content_id, author_id=None))


@router.post(
    "/content/reviews/{content_id}/approve",
    response_model=ReviewCaseOut,
    responses=_DECISION_RESPONSES,
)
@audited("content.approve", subject="content:{content_id}", state=states.content_review)
def approve(
    content_id: IdPath, body: DecisionIn, operator: OperatorUser, uow: ContentUow
) -> ReviewCaseOut:
    """Approve a held piece: the next anchoring run certifies it; the author sees the reason."""
    return _decide(content_id, Verdict.APPROVE, body, operator.id, uow)


@router.post(
    "/content/reviews/{content_id}/reject",
    response_model=ReviewCaseOut,
    responses=_DECISION_RESPONSES,
)
@audited("content.reject", subject="content:{content_id}", state=states.content_review)
def reject(
    content_id: IdPath, body: DecisionIn, operator: OperatorUser, uow: ContentUow
) -> ReviewCaseOut:
    """Reject a held piece: it is never anchored; the author sees the reason."""
    return _decide(content_id, Verdict.REJECT, body, operator.id, uow)
