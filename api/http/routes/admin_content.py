"""Operators anchor pending content, inspect anchor batches, and set the content policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http import audit_states as states
from api.http.audit import audited
from api.http.chain_deps import ContentChainDep, ContentUow
from api.http.deps import OperatorUser, PageParams, SettingsDep
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.content import AnchorRunOut, BatchOut, PolicyIO, TermsIO
from contracts import anchoring, services
from core.pagination import decode_cursor, encode_cursor

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
    chain: ContentChainDep,
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, le=anchoring.MAX_BATCH, description="Most pieces in the batch")
    ] = anchoring.MAX_BATCH,
) -> AnchorRunOut:
    """Anchor pending content now in one transaction, then advance anchored batches to final."""
    registry = chain.registry()
    batch = anchoring.anchor_pending(uow, registry, limit=limit)
    finality = anchoring.refresh_finality(uow, registry, confirmations=settings.chain_confirmations)
    if batch is not None and batch.id in finality.finalized:
        batch = services.anchor_batch(uow, batch.id)
    return AnchorRunOut.of(batch, finality)


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
    """What happens to near-duplicates and prohibited claims: flag or block."""
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
