"""Registering content: a submission becomes a ``pending`` piece, or is refused as prior art,
a near-duplicate or prohibited claims (per the content policy). Per the policy a flagged piece
may instead be held for an operator's review (``contracts.reviews``): registered, but not
anchored until approved."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from contracts import similarity
from contracts.certificates import MAX_TITLE_LENGTH, leaf_of
from contracts.compliance import ComplianceHit, screen
from contracts.content import ContentPolicy, PolicyAction, Registration, ReviewReason
from contracts.normalize import (
    CONTENT_TYPES,
    NotText,
    content_hashes,
    decode_text,
    is_text,
    normalize_text,
)
from contracts.store import ContentRepository
from contracts.uow import ContentUnitOfWork
from core.clock import utc_now
from core.errors import Conflict, RuleViolation

MAX_CONTENT_BYTES = 1_000_000


class PriorArt(Conflict):
    """The same (normalized) content is already registered."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Everything about a submission that needs no database: hashes, leaf, text, signature."""

    title: str
    content_type: str
    byte_size: int
    content_sha256: bytes
    normalized_sha256: bytes
    salt: bytes
    leaf: bytes
    text: str | None
    signature: bytes | None
    band_keys: list[int]


def _prepare(author_id: int, title: str, content: bytes, content_type: str) -> _Prepared:
    title = " ".join(title.split())
    if not title:
        raise RuleViolation("a title is required", field="title", rule="required")
    if len(title) > MAX_TITLE_LENGTH:
        raise RuleViolation(
            f"a title has at most {MAX_TITLE_LENGTH} characters", field="title", rule="max_length"
        )
    if content_type not in CONTENT_TYPES:
        raise RuleViolation(
            f"content type {content_type!r} is not accepted; use one of {sorted(CONTENT_TYPES)}",
            field="content_type",
            rule="allowed_content_type",
        )
    if len(content) > MAX_CONTENT_BYTES:
        raise RuleViolation(
            f"content is larger than {MAX_CONTENT_BYTES} bytes", field="content", rule="max_size"
        )
    text = None
    if is_text(content_type):
        try:
            text = decode_text(content)
        except NotText as exc:
            raise RuleViolation(str(exc), field="content", rule="utf8") from exc
        if not normalize_text(text):
            raise RuleViolation("content is empty", field="content", rule="non_empty")
    elif not content:
        raise RuleViolation("content is empty", field="content", rule="non_empty")
    hashes = content_hashes(content, is_text=text is not None)
    salt = secrets.token_bytes(32)
    signature = similarity.signature(text) if text is not None else None
    return _Prepared(
        title=title,
        content_type=content_type,
        byte_size=len(content),
        content_sha256=hashes.raw,
        normalized_sha256=hashes.normalized,
        salt=salt,
        leaf=leaf_of(hashes.normalized, hashes.raw, salt, author_id),
        text=text,
        signature=signature,
        band_keys=similarity.band_keys(signature) if signature is not None else [],
    )


def register_content(
    uow: ContentUnitOfWork,
    author_id: int,
    *,
    title: str,
    content: bytes,
    content_type: str,
    now: datetime | None = None,
) -> Registration:
    """Register a piece as ``pending``. Refuses prior art (409) and, per the policy,
    near-duplicates and prohibited claims (422 naming the rule); holds them for review, or
    flags them, otherwise."""
    prepared = _prepare(author_id, title, content, content_type)
    try:
        with uow:
            repo = uow.content
            _refuse_prior_art(repo, prepared.normalized_sha256)
            policy = repo.policy()
            near = _near_duplicates(repo, prepared, policy)
            hits = screen(prepared.text, repo.terms()) if prepared.text is not None else []
            review_reasons = _apply_policy(policy, near, hits)
            registration = repo.add(
                author_id=author_id,
                title=prepared.title,
                content_type=prepared.content_type,
                byte_size=prepared.byte_size,
                content_sha256=prepared.content_sha256,
                normalized_sha256=prepared.normalized_sha256,
                salt=prepared.salt,
                leaf=prepared.leaf,
                signature=prepared.signature,
                band_keys=prepared.band_keys,
                near_duplicates=near,
                compliance_hits=hits,
                review_reasons=review_reasons,
                now=now or utc_now(),
            )
            uow.commit()
            return registration
    except IntegrityError:
        # A concurrent registration of the same text won the unique index.
        with uow.reading():
            _refuse_prior_art(uow.content, prepared.normalized_sha256)
        raise


def _refuse_prior_art(repo: ContentRepository, normalized_sha256: bytes) -> None:
    earlier = repo.by_normalized_hash(normalized_sha256)
    if earlier is not None:
        raise PriorArt(
            f"this content is already registered as certificate {earlier.id} "
            f"({earlier.status.value}, registered {earlier.registered_at.isoformat()})",
            certificate_id=earlier.id,
            certificate_status=earlier.status.value,
            registered_at=earlier.registered_at.isoformat(),
        )


def _near_duplicates(
    repo: ContentRepository, prepared: _Prepared, policy: ContentPolicy
) -> list[similarity.NearDuplicate]:
    if prepared.signature is None:
        return []
    return similarity.near_duplicates(
        prepared.signature,
        repo.similar_candidates(prepared.band_keys, limit=similarity.MAX_CANDIDATES),
        threshold=float(policy.near_duplicate_threshold),
    )


def _apply_policy(
    policy: ContentPolicy,
    near: Sequence[similarity.NearDuplicate],
    hits: Sequence[ComplianceHit],
) -> list[ReviewReason]:
    """Raises when the policy blocks a finding; else the reasons to hold the piece for review
    (empty: it is only flagged, or clean)."""
    if near and policy.near_duplicate_action is PolicyAction.BLOCK:
        best = near[0]
        raise RuleViolation(
            f"content is {best.score:.0%} similar to certificate {best.content_id} "
            f"(the policy blocks similarity from {policy.near_duplicate_threshold})",
            field="content",
            rule="near_duplicate",
            near_duplicates=[{"certificate_id": d.content_id, "similarity": d.score} for d in near],
        )
    if hits and policy.compliance_action is PolicyAction.BLOCK:
        terms = sorted({h.term for h in hits})
        raise RuleViolation(
            "content makes prohibited claims: " + ", ".join(terms),
            field="content",
            rule="prohibited_claim",
            matches=[{"term": h.term, "start": h.start, "end": h.end} for h in hits],
        )
    reasons = []
    if hits and policy.compliance_action is PolicyAction.REVIEW:
        reasons.append(ReviewReason.COMPLIANCE)
    if near and policy.near_duplicate_action is PolicyAction.REVIEW:
        reasons.append(ReviewReason.NEAR_DUPLICATE)
    return reasons
