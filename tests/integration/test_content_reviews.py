"""Content review on both databases: the review policy holds flagged content out of anchoring
until an operator approves it; a rejected piece is never anchored; authors see the decision."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import text

from contracts import anchoring, reviews, services
from contracts.content import (
    ContentPolicy,
    ContentStatus,
    PolicyAction,
    Registration,
    ReviewReason,
    ReviewStatus,
    Verdict,
)
from contracts.registration import register_content
from contracts.uow import ContentUnitOfWork
from contracts.verification import verify_certificate
from core.db import Database
from core.errors import Conflict, NotFound, RuleViolation
from core.users.model import Role, User
from tests.concurrency import race
from tests.fake_chain import FakeRegistry
from tests.unit.test_content_text import ONE_SENTENCE_EDITED

CLAIM = "This fund is a guaranteed return of 8% a year, every year."
DUE = {"batch_size": 1, "max_wait_seconds": 0}

REVIEW_CLAIMS = ContentPolicy(compliance_action=PolicyAction.REVIEW)
REVIEW_BOTH = ContentPolicy(
    near_duplicate_action=PolicyAction.REVIEW, compliance_action=PolicyAction.REVIEW
)


@pytest.fixture
def uow(database: Database) -> ContentUnitOfWork:
    return ContentUnitOfWork(database.sessions)


@pytest.fixture
def author(make_user: Callable[..., User]) -> User:
    return make_user(Role.AUTHOR)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def _register(uow: ContentUnitOfWork, author: User, body: str) -> Registration:
    return register_content(
        uow, author.id, title="A note", content=body.encode(), content_type="text/plain"
    )


def _anchored_ids(database: Database) -> set[int]:
    with database.engine.connect() as connection:
        return set(
            connection.execute(
                text("SELECT id FROM content_registrations WHERE batch_id IS NOT NULL")
            ).scalars()
        )


# --- holding ------------------------------------------------------------------------------------


def test_the_review_policy_is_stored(uow: ContentUnitOfWork) -> None:
    policy = ContentPolicy(PolicyAction.REVIEW, Decimal("0.80"), PolicyAction.REVIEW)
    services.set_content_policy(uow, policy)
    assert services.content_policy(uow) == policy


def test_a_prohibited_claim_is_held_and_not_anchored(
    uow: ContentUnitOfWork, author: User, database: Database
) -> None:
    services.set_content_policy(uow, REVIEW_CLAIMS)
    held = _register(uow, author, CLAIM)
    clean = _register(uow, author, "A plain note about foundry capex.")
    assert held.review is not None and clean.review is None
    assert (held.review.status, held.review.reasons) == (
        ReviewStatus.PENDING,
        (ReviewReason.COMPLIANCE,),
    )
    assert held.status is ContentStatus.PENDING and not held.cleared

    batch = anchoring.anchor_pending(uow, FakeRegistry())
    assert batch is not None and batch.count == 1
    assert _anchored_ids(database) == {clean.id}
    with pytest.raises(Conflict) as waiting:
        services.certificate(uow, held.id, author_id=author.id)
    assert waiting.value.extensions["rule"] == "under_review"
    # Only a held piece left: nothing is due, nothing is anchored.
    assert not anchoring.anchor_is_due(uow, **DUE)
    assert anchoring.anchor_pending(uow, FakeRegistry()) is None


@pytest.mark.parametrize("language", ONE_SENTENCE_EDITED)
def test_near_duplicates_are_held_separately_from_claims(
    uow: ContentUnitOfWork, author: User, language: str
) -> None:
    original_text, edited_text = ONE_SENTENCE_EDITED[language]
    services.set_content_policy(uow, ContentPolicy(near_duplicate_action=PolicyAction.REVIEW))
    original = _register(uow, author, original_text)
    near = _register(uow, author, edited_text)
    claim = _register(uow, author, CLAIM)  # compliance is only flagged under this policy
    assert original.review is None and claim.review is None and claim.compliance_hits
    assert near.review is not None and near.review.reasons == (ReviewReason.NEAR_DUPLICATE,)


def test_a_piece_with_both_findings_is_held_for_both(uow: ContentUnitOfWork, author: User) -> None:
    services.set_content_policy(uow, REVIEW_BOTH)
    _register(uow, author, "Foundry capex: three reasons, pricing, share and yield, all up.")
    both = _register(
        uow, author, "Foundry capex: three reasons, pricing, share and yield, all up. 稳赚"
    )
    assert both.review is not None
    assert both.review.reasons == (ReviewReason.COMPLIANCE, ReviewReason.NEAR_DUPLICATE)


# --- deciding -----------------------------------------------------------------------------------


def test_approval_makes_it_anchorable_with_a_valid_certificate(
    uow: ContentUnitOfWork, author: User, operator: User
) -> None:
    services.set_content_policy(uow, REVIEW_CLAIMS)
    held = _register(uow, author, CLAIM)
    registry = FakeRegistry()
    assert anchoring.anchor_pending(uow, registry) is None

    review = reviews.decide(
        uow, held.id, Verdict.APPROVE, operator_id=operator.id, reason="  A quote,  not a claim "
    )
    assert (review.status, review.decided_by, review.decision_reason) == (
        ReviewStatus.APPROVED,
        operator.id,
        "A quote, not a claim",
    )
    assert anchoring.anchor_is_due(uow, **DUE)
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None and batch.count == 1
    certificate = services.certificate(uow, held.id, author_id=author.id)
    assert verify_certificate(certificate, CLAIM.encode(), registry.reader()).valid
    seen = services.content(uow, held.id, author_id=author.id)
    assert seen.status is ContentStatus.ANCHORED and seen.review == review


def test_a_rejected_piece_is_never_anchored_and_its_author_sees_why(
    uow: ContentUnitOfWork, author: User, operator: User, database: Database
) -> None:
    services.set_content_policy(uow, REVIEW_CLAIMS)
    held = _register(uow, author, CLAIM)
    reviews.decide(uow, held.id, Verdict.REJECT, operator_id=operator.id, reason="Promises returns")
    assert anchoring.anchor_pending(uow, FakeRegistry()) is None
    assert _anchored_ids(database) == set()
    with pytest.raises(Conflict) as refused:
        services.certificate(uow, held.id, author_id=None)
    assert refused.value.extensions["rule"] == "rejected"
    (mine,), _ = services.my_content(uow, author.id, before=None, limit=10)
    assert mine.review is not None
    assert (mine.review.status, mine.review.decision_reason) == (
        ReviewStatus.REJECTED,
        "Promises returns",
    )


def test_a_decision_is_made_once_and_a_retry_returns_it(
    uow: ContentUnitOfWork, author: User, operator: User, make_user: Callable[..., User]
) -> None:
    services.set_content_policy(uow, REVIEW_CLAIMS)
    held = _register(uow, author, CLAIM)
    first = reviews.decide(uow, held.id, Verdict.REJECT, operator_id=operator.id, reason="No")
    again = reviews.decide(uow, held.id, Verdict.REJECT, operator_id=operator.id, reason="No")
    assert again == first
    other = make_user(Role.OPERATOR)
    for verdict, operator_id, reason in [
        (Verdict.APPROVE, operator.id, "No"),
        (Verdict.REJECT, operator.id, "Other reason"),
        (Verdict.REJECT, other.id, "No"),
    ]:
        with pytest.raises(Conflict) as decided:
            reviews.decide(uow, held.id, verdict, operator_id=operator_id, reason=reason)
        assert decided.value.extensions["rule"] == "already_decided"
        assert decided.value.extensions["review_status"] == "rejected"
    assert services.content(uow, held.id, author_id=None).review == first


def test_bad_decisions_are_refused(uow: ContentUnitOfWork, author: User, operator: User) -> None:
    clean = _register(uow, author, "Nothing to see.")
    services.set_content_policy(uow, REVIEW_CLAIMS)
    held = _register(uow, author, CLAIM)
    for reason, rule in [("", "required"), (" \n\t", "required"), ("x" * 1001, "max_length")]:
        with pytest.raises(RuleViolation) as refused:
            reviews.decide(uow, held.id, Verdict.APPROVE, operator_id=operator.id, reason=reason)
        assert (refused.value.field, refused.value.rule) == ("reason", rule)
    for content_id in (clean.id, 999_999):
        with pytest.raises(NotFound):
            reviews.decide(uow, content_id, Verdict.APPROVE, operator_id=operator.id, reason="ok")
    review = services.content(uow, held.id, author_id=None).review
    assert review is not None and review.status is ReviewStatus.PENDING


def test_others_never_see_a_held_piece(
    uow: ContentUnitOfWork, author: User, make_user: Callable[..., User]
) -> None:
    services.set_content_policy(uow, REVIEW_CLAIMS)
    held = _register(uow, author, CLAIM)
    stranger = make_user(Role.AUTHOR)
    with pytest.raises(NotFound):
        services.content(uow, held.id, author_id=stranger.id)
    with pytest.raises(NotFound):
        services.certificate(uow, held.id, author_id=stranger.id)


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_filters_by_status_and_reason_and_pages_oldest_first(
    uow: ContentUnitOfWork, author: User, operator: User
) -> None:
    services.set_content_policy(uow, REVIEW_BOTH)
    base = "Foundry capex: three reasons, pricing, share and yield, all up, said the note"
    _register(uow, author, base)  # clean, never held
    claims = [
        _register(uow, author, claim)
        for claim in ("稳赚不赔。", "Risk-free profit on semis.", "Guaranteed profit, trust me.")
    ]
    near = _register(uow, author, base + " again")
    reviews.decide(uow, claims[1].id, Verdict.APPROVE, operator_id=operator.id, reason="ok")

    def ids(**filters: object) -> list[int]:
        return [r.id for r in reviews.review_queue(uow, limit=50, **filters)[0]]  # type: ignore[arg-type]

    assert ids() == [claims[0].id, claims[2].id, near.id]  # pending by default
    assert ids(status=None) == [c.id for c in claims] + [near.id]
    assert ids(status=ReviewStatus.APPROVED) == [claims[1].id]
    assert ids(status=None, reason=ReviewReason.NEAR_DUPLICATE) == [near.id]
    assert ids(status=ReviewStatus.PENDING, reason=ReviewReason.COMPLIANCE) == [
        claims[0].id,
        claims[2].id,
    ]
    first, cursor = reviews.review_queue(uow, status=None, limit=3)
    rest, end = reviews.review_queue(uow, status=None, after=cursor, limit=3)
    assert [r.id for r in first + rest] == [c.id for c in claims] + [near.id]
    assert end is None


# --- races --------------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_operators_deciding_at_once_make_one_decision(
    uow: ContentUnitOfWork, database: Database, author: User, make_user: Callable[..., User]
) -> None:
    services.set_content_policy(uow, REVIEW_CLAIMS)
    operators = [make_user(Role.OPERATOR) for _ in range(4)]
    verdicts = [Verdict.APPROVE, Verdict.REJECT] * 2
    for round_ in range(3):
        held = _register(uow, author, f"{CLAIM} Round {round_}.")

        def decide(i: int, content_id: int = held.id) -> object:
            return reviews.decide(
                ContentUnitOfWork(database.sessions),
                content_id,
                verdicts[i],
                operator_id=operators[i].id,
                reason=f"operator {i}",
            )

        results = race(4, decide)
        winners = [r for r in results if not isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert all(isinstance(r, Conflict) for r in results if r not in winners), results
        review = services.content(uow, held.id, author_id=None).review
        assert review == winners[0]
