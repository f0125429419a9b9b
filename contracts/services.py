"""Content certification use cases that read (certificates, an author's pieces, anchor batches)
and the content policy with its compliance terms. Registering is ``contracts.registration``;
anchoring and finality are ``contracts.anchoring``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from contracts import similarity
from contracts.certificates import Certificate
from contracts.compliance import normalize_terms
from contracts.content import (
    AnchorBatch,
    BatchId,
    ContentId,
    ContentPolicy,
    ContentStatus,
    Registration,
    ReviewStatus,
    certificate_of,
)
from contracts.uow import ContentUnitOfWork
from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation


def certificate(
    uow: ContentUnitOfWork, content_id: ContentId, *, author_id: int | None
) -> Certificate:
    """The certificate of an anchored piece. ``author_id`` restricts it to that author's pieces
    (``None``: any piece, for operators). 404 for others' pieces, 409 while pending (or held
    for review, or rejected in review: those are never anchored)."""
    with uow.reading():
        repo = uow.content
        registration = _visible(repo.get(content_id), content_id, author_id=author_id)
        _refuse_uncleared(registration)
        if registration.status is ContentStatus.PENDING or registration.batch_id is None:
            raise Conflict(
                f"content {content_id} is pending: its certificate exists once it is anchored",
                status=registration.status.value,
            )
        batch = uow.batches.batch(registration.batch_id)
        assert batch is not None
        return certificate_of(registration, batch, repo.proof(content_id))


def content(
    uow: ContentUnitOfWork, content_id: ContentId, *, author_id: int | None
) -> Registration:
    """One piece with its findings and review. ``author_id`` restricts it to that author's
    pieces (``None``: any piece, for operators); 404 for others' pieces."""
    with uow.reading():
        return _visible(uow.content.get(content_id), content_id, author_id=author_id)


def _visible(
    registration: Registration | None, content_id: ContentId, *, author_id: int | None
) -> Registration:
    if registration is None or author_id not in (None, registration.author_id):
        raise NotFound(f"no content {content_id}")
    return registration


def _refuse_uncleared(registration: Registration) -> None:
    review = registration.review
    if review is None or review.status is ReviewStatus.APPROVED:
        return
    if review.status is ReviewStatus.REJECTED:
        raise Conflict(
            f"content {registration.id} was rejected in review: {review.decision_reason}",
            rule="rejected",
            review_status=review.status.value,
        )
    raise Conflict(
        f"content {registration.id} is held for review: its certificate exists once an "
        "operator approves it and it is anchored",
        rule="under_review",
        review_status=review.status.value,
    )


def my_content(
    uow: ContentUnitOfWork, author_id: int, *, before: ContentId | None, limit: int
) -> tuple[list[Registration], ContentId | None]:
    """An author's registrations, newest first, and the key of the next page."""
    with uow.reading():
        return uow.content.by_author(author_id, before=before, limit=limit)


def anchor_batches(
    uow: ContentUnitOfWork, *, before: BatchId | None, limit: int
) -> tuple[list[AnchorBatch], BatchId | None]:
    with uow.reading():
        return uow.batches.batches_page(before=before, limit=limit)


def anchor_batch(uow: ContentUnitOfWork, batch_id: BatchId) -> AnchorBatch:
    with uow.reading():
        batch = uow.batches.batch(batch_id)
    if batch is None:
        raise NotFound(f"no anchor batch {batch_id}")
    return batch


def content_policy(uow: ContentUnitOfWork) -> ContentPolicy:
    with uow.reading():
        return uow.content.policy()


def set_content_policy(
    uow: ContentUnitOfWork, policy: ContentPolicy, *, now: datetime | None = None
) -> ContentPolicy:
    low, high = Decimal(str(similarity.MIN_THRESHOLD)), Decimal(1)
    threshold = policy.near_duplicate_threshold
    if not low <= threshold <= high or threshold != threshold.quantize(Decimal("0.01")):
        raise RuleViolation(
            f"the near-duplicate threshold is {low}..{high} in steps of 0.01",
            field="near_duplicate_threshold",
            rule="range",
        )
    with uow:
        uow.content.set_policy(policy, now=now or utc_now())
        uow.commit()
    return policy


def compliance_terms(uow: ContentUnitOfWork) -> list[str]:
    with uow.reading():
        return uow.content.terms()


def set_compliance_terms(uow: ContentUnitOfWork, terms: Sequence[str]) -> list[str]:
    cleaned = normalize_terms(terms)
    with uow:
        uow.content.set_terms(cleaned)
        uow.commit()
    return cleaned
