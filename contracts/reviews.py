"""Content review: the operator queue of pieces the content policy held, and its decisions.

A held piece is registered ``pending`` with a pending review: it is in no anchor batch and has no
certificate until an operator approves it (then the next anchoring run takes it like any piece);
a rejected piece is never anchored (anchoring what is rejected would only cost gas and put a
root on chain for nothing). The author sees the review's status, decision and reason on their
content. A decision is made once: a second, different decision is a 409; repeating the same
decision (same operator, verdict and reason: a retry) returns the recorded one.
"""

from __future__ import annotations

from datetime import datetime

from contracts.content import (
    ContentId,
    ContentReview,
    Registration,
    ReviewReason,
    ReviewStatus,
    Verdict,
)
from contracts.uow import ContentUnitOfWork
from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation

MAX_REASON_LENGTH = 1000


def review_queue(
    uow: ContentUnitOfWork,
    *,
    status: ReviewStatus | None = ReviewStatus.PENDING,
    reason: ReviewReason | None = None,
    after: ContentId | None = None,
    limit: int = 50,
) -> tuple[list[Registration], ContentId | None]:
    """Held pieces (each with its review), oldest first, and the key of the next page.
    ``status``/``reason`` ``None``: any."""
    with uow.reading():
        return uow.reviews.queue(status=status, reason=reason, after=after, limit=limit)


def decide(
    uow: ContentUnitOfWork,
    content_id: ContentId,
    verdict: Verdict,
    *,
    operator_id: int,
    reason: str,
    now: datetime | None = None,
) -> ContentReview:
    """Approve or reject a held piece, recording who, when and why. 404 if the piece was not
    held for review, 422 without a reason, 409 if it is already decided otherwise."""
    reason = " ".join(reason.split())
    if not reason:
        raise RuleViolation("a decision needs a reason", field="reason", rule="required")
    if len(reason) > MAX_REASON_LENGTH:
        raise RuleViolation(
            f"a reason has at most {MAX_REASON_LENGTH} characters",
            field="reason",
            rule="max_length",
        )
    with uow:
        repo = uow.reviews
        if repo.get(content_id) is None:
            raise NotFound(f"content {content_id} is not held for review")
        decided = repo.decide(
            content_id, verdict.status, operator_id=operator_id, reason=reason, now=now or utc_now()
        )
        review = repo.get(content_id)
        assert review is not None
        if decided:
            uow.commit()
            return review
    if (review.status, review.decided_by, review.decision_reason) == (
        verdict.status,
        operator_id,
        reason,
    ):
        return review  # a retry of the decision already recorded
    raise Conflict(
        f"content {content_id} is already {review.status.value}",
        rule="already_decided",
        review_status=review.status.value,
        decided_by=review.decided_by,
        decided_at=None if review.decided_at is None else review.decided_at.isoformat(),
    )
